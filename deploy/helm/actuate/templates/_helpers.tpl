{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "actuate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, or the release name when it already holds the chart name. */}}
{{- define "actuate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of one component's objects: <fullname>-<component>, within 63 characters. */}}
{{- define "actuate.componentName" -}}
{{- printf "%s-%s" (include "actuate.fullname" .root | trunc 50 | trimSuffix "-") .component }}
{{- end }}

{{- define "actuate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "actuate.labels" -}}
helm.sh/chart: {{ include "actuate.chart" . }}
app.kubernetes.io/name: {{ include "actuate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: actuate
{{- end }}

{{/* Selector labels of a component: dict "root" $ "component" "api". */}}
{{- define "actuate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "actuate.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "actuate.componentLabels" -}}
{{ include "actuate.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "actuate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}
{{- end }}

{{- define "actuate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "actuate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the API and the workers read. */}}
{{- define "actuate.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "actuate.fullname" . }}
{{- end }}
{{- end }}

{{/*
The Secret the migration hook reads. A pre-install hook runs before the release's own objects
exist, so with a chart-made Secret the hook gets its own copy, itself a hook of lower weight.
*/}}
{{- define "actuate.migrationSecretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- printf "%s-migrate" (include "actuate.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}
{{- end }}

{{/* Data of the chart-made Secret(s); fails when a required URL is missing. */}}
{{- define "actuate.secretData" -}}
{{ .Values.secrets.keys.databaseUrl }}: {{ required "secrets.databaseUrl is required (or set secrets.existingSecret)" .Values.secrets.databaseUrl | b64enc | quote }}
{{ .Values.secrets.keys.amqpUrl }}: {{ required "secrets.amqpUrl is required (or set secrets.existingSecret)" .Values.secrets.amqpUrl | b64enc | quote }}
{{- if .Values.secrets.smtpPassword }}
{{ .Values.secrets.keys.smtpPassword }}: {{ .Values.secrets.smtpPassword | b64enc | quote }}
{{- end }}
{{- if .Values.secrets.secretsKey }}
{{ .Values.secrets.keys.secretsKey }}: {{ .Values.secrets.secretsKey | b64enc | quote }}
{{- end }}
{{- if .Values.secrets.secretsPreviousKeys }}
{{ .Values.secrets.keys.secretsPreviousKeys }}: {{ .Values.secrets.secretsPreviousKeys | b64enc | quote }}
{{- end }}
{{- end }}

{{/* Environment common to every Actuate process: dict "root" $ "secretName" "...". */}}
{{- define "actuate.commonEnv" -}}
{{- $v := .root.Values -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $v.secrets.keys.databaseUrl }}
- name: AMQP_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $v.secrets.keys.amqpUrl }}
- name: ACTUATE_SECRETS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $v.secrets.keys.secretsKey }}
      optional: true
- name: ACTUATE_SECRETS_PREVIOUS_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $v.secrets.keys.secretsPreviousKeys }}
      optional: true
- name: ACTUATE_QUEUE_PREFIX
  value: {{ $v.config.queuePrefix | quote }}
- name: ACTUATE_LOG_FORMAT
  value: {{ $v.config.logFormat | quote }}
- name: RUST_LOG
  value: {{ $v.config.rustLog | quote }}
- name: ACTUATE_DB_MAX_CONNECTIONS
  value: {{ $v.config.dbMaxConnections | toString | quote }}
{{- with $v.config.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/* terminationGracePeriodSeconds of the workers: above shutdown grace + preStop sleep. */}}
{{- define "actuate.workerTerminationGrace" -}}
{{- $w := .Values.worker }}
{{- $floor := add (int $w.shutdownGraceSeconds) (int $w.preStopSleepSeconds) }}
{{- if kindIs "invalid" $w.terminationGracePeriodSeconds }}
{{- add $floor 15 }}
{{- else if le (int $w.terminationGracePeriodSeconds) (int $floor) }}
{{- fail (printf "worker.terminationGracePeriodSeconds (%d) must exceed worker.shutdownGraceSeconds + worker.preStopSleepSeconds (%d), or running executions are killed" (int $w.terminationGracePeriodSeconds) (int $floor)) }}
{{- else }}
{{- int $w.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* topologySpreadConstraints of a component: dict "root" $ "component" "api" "own" list. */}}
{{- define "actuate.topologySpread" -}}
{{- if .own -}}
topologySpreadConstraints:
  {{- toYaml .own | nindent 2 }}
{{- else if .root.Values.topologySpread.enabled -}}
topologySpreadConstraints:
{{- range .root.Values.topologySpread.topologyKeys }}
  - maxSkew: {{ $.root.Values.topologySpread.maxSkew }}
    topologyKey: {{ . }}
    whenUnsatisfiable: {{ $.root.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "actuate.selectorLabels" (dict "root" $.root "component" $.component) | nindent 8 }}
    matchLabelKeys:
      - pod-template-hash
{{- end }}
{{- end }}
{{- end }}

{{/* preStop hook: sleep in the container (exec), for clusters without lifecycle sleep. */}}
{{- define "actuate.preStop" -}}
{{- if gt (int .) 0 -}}
lifecycle:
  preStop:
    exec:
      command: ["sleep", "{{ int . }}"]
{{- end }}
{{- end }}
