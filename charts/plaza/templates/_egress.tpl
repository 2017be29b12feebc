{{/*
One NetworkPolicy egress rule for a target of networkPolicy.egress
({to: [peers], ports: [numbers]}): TCP on each port, to those peers; no
peers = any address on those ports.
*/}}
{{- define "plaza.egressTarget" -}}
- ports:
    {{- range .ports }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
  {{- with .to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* The DNS rule: UDP and TCP on each port of networkPolicy.egress.dns. */}}
{{- define "plaza.egressDNS" -}}
- ports:
    {{- range .ports }}
    - {port: {{ . }}, protocol: UDP}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
  {{- with .to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
