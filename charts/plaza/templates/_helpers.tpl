{{/*
Names. The full name is cut at 40 characters: the relay StatefulSet
("<fullname>-relay") must stay within 52 (its controller-revision-hash label
is "<name>-<10 chars>", at most 63) and each relay's public host label
("<fullname>-relay-<ordinal>") within 63.
*/}}
{{- define "plaza.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "plaza.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "plaza.relayName" -}}{{ include "plaza.fullname" . }}-relay{{- end -}}
{{- define "plaza.controlName" -}}{{ include "plaza.fullname" . }}-control{{- end -}}

{{- define "plaza.selectorLabels" -}}
app.kubernetes.io/name: {{ include "plaza.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "plaza.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "plaza.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: plaza
{{- end -}}

{{- define "plaza.relaySelector" -}}
{{ include "plaza.selectorLabels" . }}
app.kubernetes.io/component: relay
{{- end -}}

{{- define "plaza.controlSelector" -}}
{{ include "plaza.selectorLabels" . }}
app.kubernetes.io/component: control
{{- end -}}

{{/* An image reference: (dict "image" .Values.image.relay "root" $). */}}
{{- define "plaza.image" -}}
{{- $img := .image -}}
{{- $repo := $img.repository -}}
{{- if $img.registry -}}{{- $repo = printf "%s/%s" $img.registry $img.repository -}}{{- end -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $repo $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{/*
How many relays can exist, hence how many per-relay Services and Ingress
hosts are rendered: autoscaler.maxRelays with the autoscaler, else
relay.replicas.
*/}}
{{- define "plaza.relaySlots" -}}
{{- if .Values.autoscaler.enabled -}}{{ .Values.autoscaler.maxRelays | int }}{{- else -}}{{ .Values.relay.replicas | int }}{{- end -}}
{{- end -}}

{{/*
The relay StatefulSet's replica count. Without the autoscaler: relay.replicas.
With it, the live count (lookup) so `helm upgrade` never undoes a scaling
decision; relay.replicas only on first install (and in `helm template`).
*/}}
{{- define "plaza.relayReplicas" -}}
{{- $replicas := .Values.relay.replicas | int -}}
{{- if .Values.autoscaler.enabled -}}
{{- $live := lookup "apps/v1" "StatefulSet" .Release.Namespace (include "plaza.relayName" .) -}}
{{- if and $live $live.spec (hasKey $live.spec "replicas") -}}
{{- $replicas = $live.spec.replicas | int -}}
{{- end -}}
{{- end -}}
{{- $replicas -}}
{{- end -}}

{{/* The public URL a relay advertises; Kubernetes expands $(POD_NAME). */}}
{{- define "plaza.relayPublicURL" -}}
{{- printf "%s://$(POD_NAME).%s/ws" .Values.relay.publicScheme .Values.relay.publicDomain -}}
{{- end -}}

{{/* Secret names. */}}
{{- define "plaza.keysSecretName" -}}
{{- default (printf "%s-keys" (include "plaza.fullname" .)) .Values.control.keys.existingSecret -}}
{{- end -}}
{{- define "plaza.backendsSecretName" -}}{{ include "plaza.fullname" . }}-backends{{- end -}}
{{- define "plaza.redisSecretName" -}}
{{- default (include "plaza.backendsSecretName" .) .Values.redis.existingSecret -}}
{{- end -}}
{{- define "plaza.redisSecretKey" -}}
{{- if .Values.redis.existingSecret }}{{ .Values.redis.existingSecretKey }}{{ else }}redis-url{{ end -}}
{{- end -}}
{{- define "plaza.mongoSecretName" -}}
{{- default (include "plaza.backendsSecretName" .) .Values.mongo.existingSecret -}}
{{- end -}}
{{- define "plaza.mongoSecretKey" -}}
{{- if .Values.mongo.existingSecret }}{{ .Values.mongo.existingSecretKey }}{{ else }}mongo-url{{ end -}}
{{- end -}}

{{/*
The generated key Secret's data (base64 values, as YAML), computed once per
render and kept in a memo so the Secret and the checksum annotation agree:
the live Secret's data when it exists (lookup), else a new Ed25519 key
(PKCS#8 PEM, file ed25519-<kid>.pem) and a 64-character session secret.
`helm template` cannot look up, so it generates new ones every run.
*/}}
{{- define "plaza.generatedKeysData" -}}
{{- if not (hasKey .Values "__plazaGeneratedKeys") -}}
{{- $data := dict -}}
{{- $live := lookup "v1" "Secret" .Release.Namespace (printf "%s-keys" (include "plaza.fullname" .)) -}}
{{- if and $live $live.data -}}
{{- $data = $live.data -}}
{{- else -}}
{{- $kid := printf "k%s-%s" (dateInZone "20060102T150405Z" now "UTC") (randAlphaNum 32 | sha256sum | trunc 6) -}}
{{- $_ := set $data (printf "ed25519-%s.pem" $kid) (genPrivateKey "ed25519" | b64enc) -}}
{{- $_ := set $data "session-secret" (randAlphaNum 64 | b64enc) -}}
{{- end -}}
{{- $_ := set .Values "__plazaGeneratedKeys" $data -}}
{{- end -}}
{{- toYaml (index .Values "__plazaGeneratedKeys") -}}
{{- end -}}

{{/*
Checksum of the key Secret's data: the generated data, or the existing
Secret's (looked up; its name alone in `helm template`), so a change rolls
the control plane on the next upgrade.
*/}}
{{- define "plaza.keysChecksum" -}}
{{- if .Values.control.keys.existingSecret -}}
{{- $live := lookup "v1" "Secret" .Release.Namespace .Values.control.keys.existingSecret -}}
{{- if and $live $live.data -}}{{ toYaml $live.data | sha256sum }}{{- else -}}{{ .Values.control.keys.existingSecret | sha256sum }}{{- end -}}
{{- else -}}
{{- include "plaza.generatedKeysData" . | sha256sum -}}
{{- end -}}
{{- end -}}

{{/* Checksum of the Redis/MongoDB URL Secrets (values or looked-up existing Secrets). */}}
{{- define "plaza.backendsChecksum" -}}
{{- $parts := list -}}
{{- range $svc := list .Values.redis .Values.mongo -}}
{{- if $svc.existingSecret -}}
{{- $live := lookup "v1" "Secret" $.Release.Namespace $svc.existingSecret -}}
{{- $parts = append $parts (printf "%s/%s=%s" $svc.existingSecret $svc.existingSecretKey (($live).data | default dict | toYaml)) -}}
{{- else -}}
{{- $parts = append $parts $svc.url -}}
{{- end -}}
{{- end -}}
{{- join "\n" $parts | sha256sum -}}
{{- end -}}

{{/* Pod-level security context: Pod Security "restricted". */}}
{{- define "plaza.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level security context: Pod Security "restricted". */}}
{{- define "plaza.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Topology spread constraints: each entry of the given list, with the
component's selector as labelSelector unless the entry has one.
(dict "constraints" .Values.relay.topologySpreadConstraints "selector" (include "plaza.relaySelector" .))
*/}}
{{- define "plaza.topologySpread" -}}
{{- $selector := fromYaml .selector -}}
{{- $out := list -}}
{{- range .constraints -}}
{{- $c := deepCopy . -}}
{{- if not (hasKey $c "labelSelector") -}}{{- $_ := set $c "labelSelector" (dict "matchLabels" $selector) -}}{{- end -}}
{{- $out = append $out $c -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
