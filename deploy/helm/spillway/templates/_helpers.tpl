{{- define "spillway.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "spillway.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "spillway.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "spillway.redisUrl" -}}
{{- if .Values.redis.url -}}{{ .Values.redis.url }}{{- else -}}redis://{{ include "spillway.fullname" . }}-redis:6379{{- end -}}
{{- end -}}

{{- define "spillway.secretName" -}}
{{- if .Values.existingSecret -}}{{ .Values.existingSecret }}{{- else -}}{{ include "spillway.fullname" . }}{{- end -}}
{{- end -}}
