{{/*
Chart name, cut to 63 characters (the DNS label limit).
*/}}
{{- define "tf-serving.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: release name plus chart name unless the release name already contains it.
*/}}
{{- define "tf-serving.fullname" -}}
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

{{/*
Chart name and version for the helm.sh/chart label.
*/}}
{{- define "tf-serving.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "tf-serving.labels" -}}
helm.sh/chart: {{ include "tf-serving.chart" . }}
{{ include "tf-serving.selectorLabels" . }}
app.kubernetes.io/version: {{ include "tf-serving.imageTag" . | quote }}
app.kubernetes.io/component: model-server
app.kubernetes.io/part-of: tf-serving
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels. Immutable after install: never add version or chart here.
*/}}
{{- define "tf-serving.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tf-serving.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
ServiceAccount name.
*/}}
{{- define "tf-serving.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tf-serving.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image tag: image.tag or the appVersion. `latest` is refused because it makes rollouts unrepeatable.
*/}}
{{- define "tf-serving.imageTag" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString }}
{{- if or (eq $tag "latest") (hasPrefix "latest-" $tag) }}
{{- fail (printf "image.tag: %q is not allowed; pin a release such as %q (allowed: an explicit version tag, never latest)" $tag .Chart.AppVersion) }}
{{- end }}
{{- $tag }}
{{- end }}

{{/*
Full image reference, with the digest when one is given.
*/}}
{{- define "tf-serving.image" -}}
{{- $tag := include "tf-serving.imageTag" . }}
{{- if and .Values.gpu.enabled (not (hasSuffix .Values.gpu.imageTagSuffix $tag)) }}
{{- $tag = printf "%s%s" $tag .Values.gpu.imageTagSuffix }}
{{- end }}
{{- $ref := printf "%s:%s" .Values.image.repository $tag }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/*
Base path of one model: its basePath or <modelStorage.mountPath>/<name>.
Call with (dict "model" $m "root" $).
*/}}
{{- define "tf-serving.modelBasePath" -}}
{{- .model.basePath | default (printf "%s/%s" (trimSuffix "/" .root.Values.modelStorage.mountPath) .model.name) }}
{{- end }}

{{/*
All models as a JSON list, the primary model first, each validated. Keys default as for `model`.
*/}}
{{- define "tf-serving.models" -}}
{{- $models := list }}
{{- $names := dict }}
{{- $all := prepend (.Values.extraModels | default list) .Values.model }}
{{- range $i, $m := $all }}
{{- $key := ternary "model" (printf "extraModels[%d]" (sub $i 1)) (eq $i 0) }}
{{- if not $m.name }}
{{- fail (printf "%s.name is required (the name clients use in /v1/models/<name>)" $key) }}
{{- end }}
{{- if hasKey $names $m.name }}
{{- fail (printf "%s.name: %q is used by more than one model; model names must be unique" $key $m.name) }}
{{- end }}
{{- $_ := set $names $m.name true }}
{{- $policy := $m.versionPolicy | default "latest" }}
{{- if not (has $policy (list "latest" "all" "specific")) }}
{{- fail (printf "%s.versionPolicy: %q is not allowed; allowed values: latest, all, specific" $key $policy) }}
{{- end }}
{{- $specific := $m.specificVersions | default list }}
{{- if and (eq $policy "specific") (empty $specific) }}
{{- fail (printf "%s.specificVersions must list at least one version when %s.versionPolicy is specific" $key $key) }}
{{- end }}
{{- $latest := $m.latestVersions | default 1 | int }}
{{- $labels := $m.versionLabels | default dict }}
{{- range $label, $version := $labels }}
{{- if not (regexMatch "^[a-zA-Z_][a-zA-Z0-9_-]*$" $label) }}
{{- fail (printf "%s.versionLabels: label %q is invalid; use letters, digits, _ and -" $key $label) }}
{{- end }}
{{- if not (regexMatch "^[0-9]+$" (toString $version)) }}
{{- fail (printf "%s.versionLabels.%s: %v is not a version; labels map to integer versions" $key $label $version) }}
{{- end }}
{{- if eq $policy "specific" }}
{{- $served := list }}
{{- range $specific }}{{ $served = append $served (toString (int .)) }}{{ end }}
{{- if not (has (toString (int $version)) $served) }}
{{- fail (printf "%s.versionLabels.%s: version %v is not in %s.specificVersions %v; a label must point at a served version" $key $label $version $key $served) }}
{{- end }}
{{- end }}
{{- end }}
{{- $basePath := include "tf-serving.modelBasePath" (dict "model" $m "root" $) }}
{{- $models = append $models (dict "sizeBytes" (int64 ($m.sizeBytes | default 0)) "name" $m.name "basePath" $basePath "platform" ($m.platform | default "tensorflow") "versionPolicy" $policy "latestVersions" $latest "specificVersions" $specific "versionLabels" $labels) }}
{{- end }}
{{- toJson $models }}
{{- end }}

{{/*
True ("true") when any model has version labels.
*/}}
{{- define "tf-serving.hasVersionLabels" -}}
{{- $found := false }}
{{- range (include "tf-serving.models" . | fromJsonArray) }}
{{- if .versionLabels }}{{ $found = true }}{{ end }}
{{- end }}
{{- if $found }}true{{ end }}
{{- end }}

{{/*
Whole CPUs of resources.limits.cpu, rounded up ("" when no CPU limit). Accepts 2, "2", "1.5", "500m".
*/}}
{{- define "tf-serving.cpuLimit" -}}
{{- $limits := (.Values.resources | default dict).limits | default dict }}
{{- if $limits.cpu }}
{{- $cpu := toString $limits.cpu }}
{{- $n := 0.0 }}
{{- if hasSuffix "m" $cpu }}
{{- $n = divf (trimSuffix "m" $cpu | float64) 1000 }}
{{- else }}
{{- $n = float64 $cpu }}
{{- end }}
{{- max 1 (ceil $n | int) }}
{{- end }}
{{- end }}

{{/*
One thread-count flag: the explicit value, else the CPU limit times a factor, else nothing.
Call with (dict "flag" "--x" "value" N "factor" F "cpus" C).
*/}}
{{- define "tf-serving.threadFlag" -}}
{{- if gt (int .value) 0 }}
{{- printf "%s=%d" .flag (int .value) }}
{{- else if .cpus }}
{{- printf "%s=%d" .flag (mul (int .cpus) .factor) }}
{{- end }}
{{- end }}

{{/*
Value of --grpc_channel_arguments ("" when none).
*/}}
{{- define "tf-serving.grpcChannelArguments" -}}
{{- $args := list }}
{{- if gt (int .Values.grpc.maxConnectionAgeMs) 0 }}
{{- $args = append $args (printf "grpc.max_connection_age_ms=%d" (int .Values.grpc.maxConnectionAgeMs)) }}
{{- end }}
{{- if gt (int .Values.grpc.maxConnectionAgeGraceMs) 0 }}
{{- $args = append $args (printf "grpc.max_connection_age_grace_ms=%d" (int .Values.grpc.maxConnectionAgeGraceMs)) }}
{{- end }}
{{- range $k, $v := .Values.grpc.channelArguments }}
{{- $args = append $args (printf "%s=%v" $k $v) }}
{{- end }}
{{- join "," $args }}
{{- end }}

{{/*
Paths inside the container where the chart's config files are mounted.
*/}}
{{- define "tf-serving.modelsConfigDir" -}}/etc/tfserving/models{{- end }}
{{- define "tf-serving.serverConfigDir" -}}/etc/tfserving/server{{- end }}

{{/*
True ("true") when the image tag is a release >= 2.15.1, the first with the gRPC health service.
*/}}
{{- define "tf-serving.supportsGrpcHealth" -}}
{{- $tag := include "tf-serving.imageTag" . }}
{{- if regexMatch "^[0-9]+\\.[0-9]+\\.[0-9]+" $tag }}
{{- if semverCompare ">=2.15.1-0" (regexFind "^[0-9]+\\.[0-9]+\\.[0-9]+" $tag) }}true{{ end }}
{{- end }}
{{- end }}

{{/*
The model volume source for modelStorage.type.
*/}}
{{- define "tf-serving.modelVolume" -}}
{{- $s := .Values.modelStorage }}
{{- if eq $s.type "persistentVolumeClaim" }}
persistentVolumeClaim:
  claimName: {{ include "tf-serving.fullname" . }}-models
  readOnly: {{ $s.readOnly }}
{{- else if eq $s.type "existingClaim" }}
persistentVolumeClaim:
  claimName: {{ required "modelStorage.existingClaim is required when modelStorage.type is existingClaim (the name of a PVC holding <model>/<version>/saved_model.pb)" $s.existingClaim }}
  readOnly: {{ $s.readOnly }}
{{- else if eq $s.type "hostPath" }}
hostPath:
  path: {{ $s.hostPath.path }}
  type: {{ $s.hostPath.type }}
{{- else if eq $s.type "emptyDir" }}
emptyDir:
  {{- with $s.emptyDir.sizeLimit }}
  sizeLimit: {{ . }}
  {{- end }}
{{- else }}
{{- fail (printf "modelStorage.type: %q is not allowed; allowed values: persistentVolumeClaim, existingClaim, hostPath, emptyDir" $s.type) }}
{{- end }}
{{- end }}

{{/*
Bytes in a Kubernetes memory quantity such as 512Mi, 2Gi, 1G or 1048576.
*/}}
{{- define "tf-serving.quantityBytes" -}}
{{- $q := toString . }}
{{- $number := regexFind "^[0-9.]+" $q }}
{{- $unit := trimPrefix $number $q }}
{{- $multipliers := dict "" 1 "k" 1000 "K" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 }}
{{- if not (hasKey $multipliers $unit) }}
{{- fail (printf "resources.limits.memory: cannot read %q; use a quantity such as 2Gi or 512Mi" $q) }}
{{- end }}
{{- mulf (float64 $number) (get $multipliers $unit) | int64 }}
{{- end }}

{{/*
A warning line when the memory limit is below 2 x the models' total size while hot swaps are on
(a new version loads before the old one unloads); empty otherwise.
*/}}
{{- define "tf-serving.memoryWarning" -}}
{{- $total := 0 }}
{{- range (include "tf-serving.models" . | fromJsonArray) }}
{{- $total = add $total (int64 .sizeBytes) }}
{{- end }}
{{- $limits := (.Values.resources | default dict).limits | default dict }}
{{- if and (gt (int64 $total) 0) $limits.memory (gt (int .Values.server.fileSystemPollWaitSeconds) 0) }}
{{- $limit := include "tf-serving.quantityBytes" $limits.memory | int64 }}
{{- if lt $limit (mul 2 $total) }}
{{- printf "WARNING: resources.limits.memory (%v) is below 2 x the models' size (%d bytes). During a version swap the old and new versions are loaded together and the pod may be OOM-killed: raise the limit or set server.fileSystemPollWaitSeconds: 0." $limits.memory (mul 2 $total) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Gateway labels. Its `name` differs from the server's, so neither selects the other's pods.
*/}}
{{- define "tf-serving.gatewaySelectorLabels" -}}
app.kubernetes.io/name: {{ include "tf-serving.name" . }}-gateway
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tf-serving.gatewayLabels" -}}
helm.sh/chart: {{ include "tf-serving.chart" . }}
{{ include "tf-serving.gatewaySelectorLabels" . }}
app.kubernetes.io/version: {{ .Values.gateway.image.tag | quote }}
app.kubernetes.io/component: gateway
app.kubernetes.io/part-of: tf-serving
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Server resources, with the GPU limit when gpu.enabled.
*/}}
{{- define "tf-serving.resources" -}}
{{- $res := deepCopy (.Values.resources | default dict) }}
{{- if .Values.gpu.enabled }}
{{- $limits := get $res "limits" | default dict }}
{{- $_ := set $limits .Values.gpu.resourceName (int .Values.gpu.count) }}
{{- $_ := set $res "limits" $limits }}
{{- end }}
{{- with $res }}{{ toYaml . }}{{ end }}
{{- end }}

{{/*
Replicas the release keeps at least: the HPA's minimum when autoscaling, else replicaCount.
*/}}
{{- define "tf-serving.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.minReplicas | int }}{{ else }}{{ .Values.replicaCount | int }}{{ end }}
{{- end }}

{{/*
Port the server's REST API listens on: behind the drain proxy its own port, else server.restPort.
*/}}
{{- define "tf-serving.serverRestPort" -}}
{{- if .Values.drainProxy.enabled }}{{ .Values.drainProxy.serverRestPort }}{{ else }}{{ .Values.server.restPort }}{{ end }}
{{- end }}

{{/*
Fails on shutdown timings under which TF Serving (no SIGTERM handler: it dies at once) could still
have clients when it is killed. Empty output when they are consistent.
*/}}
{{- define "tf-serving.validateShutdown" -}}
{{- $preStopMs := mul (int .Values.preStopSleepSeconds) 1000 }}
{{- $removalMs := mul (int .Values.endpointRemovalSeconds) 1000 }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be greater than preStopSleepSeconds (%v), or the server is killed before it can stop" .Values.terminationGracePeriodSeconds .Values.preStopSleepSeconds) }}
{{- end }}
{{- if ge $removalMs $preStopMs }}
{{- fail (printf "endpointRemovalSeconds (%v) must be less than preStopSleepSeconds (%v): the server must outlive its removal from the endpoints" .Values.endpointRemovalSeconds .Values.preStopSleepSeconds) }}
{{- end }}
{{- $age := int .Values.grpc.maxConnectionAgeMs }}
{{- $grace := int .Values.grpc.maxConnectionAgeGraceMs }}
{{- if gt $age 0 }}
{{- if le $grace 0 }}
{{- fail "grpc.maxConnectionAgeGraceMs must be > 0 when grpc.maxConnectionAgeMs is set: without it gRPC core waits for in-flight calls forever, past SIGTERM" }}
{{- end }}
{{- /* gRPC core jitters the age by +-10%. */}}
{{- $needMs := add $removalMs (div (mul $age 11) 10) $grace }}
{{- if gt $needMs $preStopMs }}
{{- fail (printf "grpc.maxConnectionAgeMs (%d, +10%% jitter) + grpc.maxConnectionAgeGraceMs (%d) + endpointRemovalSeconds (%v s) = %d ms exceeds preStopSleepSeconds (%v s): a gRPC connection could outlive the server, which dies at once on SIGTERM; lower the age or raise preStopSleepSeconds to at least %d" $age $grace .Values.endpointRemovalSeconds $needMs .Values.preStopSleepSeconds (div (add $needMs 999) 1000)) }}
{{- end }}
{{- end }}
{{- if .Values.drainProxy.enabled }}
{{- $port := int .Values.drainProxy.serverRestPort }}
{{- if or (eq $port (int .Values.server.restPort)) (eq $port (int .Values.server.grpcPort)) }}
{{- fail (printf "drainProxy.serverRestPort (%d) must differ from server.restPort (%v, the proxy's port) and server.grpcPort (%v)" $port .Values.server.restPort .Values.server.grpcPort) }}
{{- end }}
{{- if lt (sub (int .Values.preStopSleepSeconds) (int .Values.endpointRemovalSeconds)) 3 }}
{{- fail (printf "preStopSleepSeconds (%v) must be at least endpointRemovalSeconds (%v) + 3 with drainProxy.enabled: open REST connections need time for one more request, answered with Connection: close" .Values.preStopSleepSeconds .Values.endpointRemovalSeconds) }}
{{- end }}
{{- end }}
{{- end }}
