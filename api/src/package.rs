//! The download package of an execution: a zip a person can open to see what happened.
//!
//! ```text
//! execution.json                  the execution as GET /actionexecution/{id} answers it
//! steps/01-Python/output.json     each step's output (when it has one)
//! steps/01-Python/log.txt         its captured log
//! steps/01-Python/error.txt       its error
//! ```

use actuate_shared::domain::model::ExecutionDetail;
use std::io::{Cursor, Write};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

pub fn build(detail: &ExecutionDetail) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("execution.json", options)?;
    zip.write_all(&serde_json::to_vec_pretty(detail).expect("serialisable"))?;
    for step in &detail.steps {
        let dir = format!("steps/{:02}-{}", step.step_number, step.step_type);
        if let Some(output) = &step.output {
            zip.start_file(format!("{dir}/output.json"), options)?;
            zip.write_all(&serde_json::to_vec_pretty(output).expect("serialisable"))?;
        }
        if let Some(log) = &step.log {
            zip.start_file(format!("{dir}/log.txt"), options)?;
            zip.write_all(log.as_bytes())?;
        }
        if let Some(error) = &step.error {
            zip.start_file(format!("{dir}/error.txt"), options)?;
            zip.write_all(error.as_bytes())?;
        }
    }
    Ok(zip.finish()?.into_inner())
}
