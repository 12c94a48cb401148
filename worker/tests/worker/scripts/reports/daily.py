# A script step: reads the execution's input and an earlier step's output.
def main(context):
    rows = context["steps"][1]["output"]["rows"]
    return {"customer": context["input"]["customer"], "total": sum(rows)}
