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
{{- printf "WARNING: resources.limits.memory (%v) is below 2 x the models' size (%d bytes). During a version swap the old and new versions are loaded together and the pod may be OOM-killed: raise the limit, or set server.fileSystemPollWaitSeconds: 0 and server.modelConfigPollSeconds: 0." $limits.memory (mul 2 $total) }}
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
Every cross-field check of the server's values, bitnami style: each
`tf-serving.validateValues.*` helper prints one line per problem (naming the key and the fix),
and this one fails once with all of them. Empty output when the values are consistent.
*/}}
{{- define "tf-serving.validateValues" -}}
{{- $messages := list }}
{{- range list "ports" "shutdown" "polling" "threads" "channelArguments" "probes" "modelFetch" }}
{{- $out := include (printf "tf-serving.validateValues.%s" .) $ | trim }}
{{- if $out }}{{ $messages = concat $messages (splitList "\n" $out) }}{{ end }}
{{- end }}
{{- if $messages }}
{{- fail (printf "\nVALUES VALIDATION:\n%s" (join "\n" $messages)) }}
{{- end }}
{{- end }}

{{/*
Ports. Equal gRPC and REST ports: TF Serving logs an error and never opens REST
(tensorflow_serving/model_servers/server.cc:437-459 at 2.20.0). Behind the drain proxy,
server.restPort is the proxy's and the server's REST port is drainProxy.serverRestPort; all
share the pod's network namespace.
*/}}
{{- define "tf-serving.validateValues.ports" -}}
{{- $grpc := int .Values.server.grpcPort }}
{{- $rest := int .Values.server.restPort }}
{{- if eq $grpc $rest }}
{{ printf "server.grpcPort and server.restPort are both %d: TF Serving then never opens its REST API (\"http_port cannot be same as grpc_port\"); give them different ports, e.g. server.grpcPort=8500 and server.restPort=8501" $grpc }}
{{- end }}
{{- if .Values.drainProxy.enabled }}
{{- $port := int .Values.drainProxy.serverRestPort }}
{{- if or (eq $port $rest) (eq $port $grpc) }}
{{ printf "drainProxy.serverRestPort (%d) must differ from server.restPort (%d, the proxy's port) and server.grpcPort (%d); pick a free pod-internal port such as 8511" $port $rest $grpc }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Shutdown timings under which TF Serving (no SIGTERM handler: it dies at once) could still have
clients when it is killed.
*/}}
{{- define "tf-serving.validateValues.shutdown" -}}
{{- $preStopMs := mul (int .Values.preStopSleepSeconds) 1000 }}
{{- $removalMs := mul (int .Values.endpointRemovalSeconds) 1000 }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds) }}
{{ printf "terminationGracePeriodSeconds (%v) must be greater than preStopSleepSeconds (%v), or the server is killed before it can stop" .Values.terminationGracePeriodSeconds .Values.preStopSleepSeconds }}
{{- end }}
{{- if ge $removalMs $preStopMs }}
{{ printf "endpointRemovalSeconds (%v) must be less than preStopSleepSeconds (%v): the server must outlive its removal from the endpoints" .Values.endpointRemovalSeconds .Values.preStopSleepSeconds }}
{{- end }}
{{- $age := int .Values.grpc.maxConnectionAgeMs }}
{{- $grace := int .Values.grpc.maxConnectionAgeGraceMs }}
{{- if gt $age 0 }}
{{- if le $grace 0 }}
{{ print "grpc.maxConnectionAgeGraceMs must be > 0 when grpc.maxConnectionAgeMs is set: without it gRPC core waits for in-flight calls forever, past SIGTERM" }}
{{- else }}
{{- /* gRPC core jitters the age by +-10%. */}}
{{- $needMs := add $removalMs (div (mul $age 11) 10) $grace }}
{{- if gt $needMs $preStopMs }}
{{ printf "grpc.maxConnectionAgeMs (%d, +10%% jitter) + grpc.maxConnectionAgeGraceMs (%d) + endpointRemovalSeconds (%v s) = %d ms exceeds preStopSleepSeconds (%v s): a gRPC connection could outlive the server, which dies at once on SIGTERM; lower the age or raise preStopSleepSeconds to at least %d" $age $grace .Values.endpointRemovalSeconds $needMs .Values.preStopSleepSeconds (div (add $needMs 999) 1000) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.drainProxy.enabled (lt (sub (int .Values.preStopSleepSeconds) (int .Values.endpointRemovalSeconds)) 3) }}
{{ printf "preStopSleepSeconds (%v) must be at least endpointRemovalSeconds (%v) + 3 with drainProxy.enabled: open REST connections need time for one more request, answered with Connection: close" .Values.preStopSleepSeconds .Values.endpointRemovalSeconds }}
{{- end }}
{{- end }}

{{/*
Config polling without file-system polling. With --file_system_poll_wait_seconds=0 the storage
path source polls once, at start (sources/storage_path/file_system_storage_path_source.cc:422-429
at 2.20.0); a config reload only swaps its config (:377-398) and never polls again, while
ServerCore::AddModelsViaModelConfigList waits for every new model to become available
(model_servers/server_core.cc:437-440) with no timeout (server_core.h:218). A model added to
models.config therefore blocks the reload, and with it every later one, forever. Refused rather
than papered over with a pod roll: the kubelet also updates the file inside the running pods, so
only modelConfigPollSeconds=0 keeps the server from reading it (checksum/models then rolls them).
*/}}
{{- define "tf-serving.validateValues.polling" -}}
{{- if and (eq (int .Values.server.fileSystemPollWaitSeconds) 0) (gt (int .Values.server.modelConfigPollSeconds) 0) }}
{{ printf "server.fileSystemPollWaitSeconds is 0 but server.modelConfigPollSeconds is %v: TF Serving then scans the model directories only once, at start, so a model added to models.config by a live reload is waited for forever and every later reload is stuck behind it; set server.modelConfigPollSeconds=0 as well (models.config changes then roll the pods), or server.fileSystemPollWaitSeconds >= 1" .Values.server.modelConfigPollSeconds }}
{{- end }}
{{- end }}

{{/*
Thread flags.
- --tensorflow_session_parallelism beside intra- and inter-op threads: TF Serving refuses to start
  ("You cannot configure all", model_servers/server.cc:256-263 at 2.20.0); beside only one of them
  it is ignored (:264-271).
- --grpc_max_threads caps the synchronous gRPC server's threads (server.cc:412-414). With batching,
  every request holds a thread while it waits for its batch to fill, and upstream recommends
  "roughly twice the maximum batch size" request threads (batching/README.md:58-61 at 2.20.0).
*/}}
{{- define "tf-serving.validateValues.threads" -}}
{{- $threads := .Values.server.threads }}
{{- $cpus := include "tf-serving.cpuLimit" . }}
{{- $sessionFlag := false }}
{{- range .Values.server.extraArgs }}
{{- if regexMatch "^--tensorflow_session_parallelism(=|$)" (toString .) }}{{ $sessionFlag = true }}{{ end }}
{{- end }}
{{- if and $sessionFlag (or $cpus (gt (int $threads.intraOp) 0) (gt (int $threads.interOp) 0)) }}
{{ print "server.extraArgs: --tensorflow_session_parallelism cannot be combined with the intra-/inter-op threads the chart sets (from resources.limits.cpu or server.threads.intraOp/interOp): TF Serving refuses to start with both, and ignores it beside only one; set server.threads.intraOp and server.threads.interOp instead and drop the flag" }}
{{- end }}
{{- if .Values.batching.enabled }}
{{- $floor := mul 2 (int .Values.batching.maxBatchSize) }}
{{- if and (gt (int $threads.grpcMax) 0) (lt (int $threads.grpcMax) $floor) }}
{{ printf "server.threads.grpcMax (%d) is below 2 x batching.maxBatchSize (%d): each gRPC request holds a server thread while it waits for its batch, so batches cannot fill and further callers get RESOURCE_EXHAUSTED; set server.threads.grpcMax to at least %d, or 0 to derive it" (int $threads.grpcMax) $floor $floor }}
{{- end }}
{{- end }}
{{- end }}

{{/*
gRPC channel arguments. TF Serving splits --grpc_channel_arguments on "," and each part on "=",
then reads parts [0] and [1] without checking how many there are
(model_servers/server.cc:101-112 at 2.20.0): a "," in a value leaves a part without "=" (an
out-of-range read), and a "=" cuts the value short. A second --grpc_channel_arguments in
server.extraArgs would replace the chart's (last flag wins), dropping the connection age the
shutdown timing relies on.
*/}}
{{- define "tf-serving.validateValues.channelArguments" -}}
{{- $owned := dict "grpc.max_connection_age_ms" "grpc.maxConnectionAgeMs" "grpc.max_connection_age_grace_ms" "grpc.maxConnectionAgeGraceMs" }}
{{- range $key, $value := .Values.grpc.channelArguments }}
{{- $text := toString $value }}
{{- if hasKey $owned $key }}
{{ printf "grpc.channelArguments.%s is set by the chart: use %s instead" $key (get $owned $key) }}
{{- else if or (kindIs "invalid" $value) (eq $text "") }}
{{ printf "grpc.channelArguments.%s has no value: TF Serving would pass an empty argument; give it a value or remove the key" $key }}
{{- else if or (contains "," $text) (contains "=" $text) (contains "," $key) (contains "=" $key) }}
{{ printf "grpc.channelArguments.%s: %q contains \",\" or \"=\", which TF Serving's --grpc_channel_arguments parser splits on without bounds checks (a part without \"=\" is read out of range, a \"=\" cuts the value); such a value cannot be passed: remove it" $key $text }}
{{- end }}
{{- end }}
{{- range .Values.server.extraArgs }}
{{- if regexMatch "^--grpc_channel_arguments(=|$)" (toString .) }}
{{ print "server.extraArgs: --grpc_channel_arguments would replace the chart's own flag (grpc.maxConnectionAgeMs, grpc.maxConnectionAgeGraceMs); set the arguments as grpc.channelArguments (name: value) instead" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Probe options that need a minimum server release.
*/}}
{{- define "tf-serving.validateValues.probes" -}}
{{- if and .Values.probes.grpcHealthCheck (not (include "tf-serving.supportsGrpcHealth" .)) }}
{{ printf "probes.grpcHealthCheck needs image.tag >= 2.15.1 (the first release with the gRPC health service); got %q" (include "tf-serving.imageTag" .) }}
{{- end }}
{{- end }}

{{/*
The fetch init container writes into the model volume.
*/}}
{{- define "tf-serving.validateValues.modelFetch" -}}
{{- if and .Values.modelFetch.enabled (has .Values.modelStorage.type (list "persistentVolumeClaim" "existingClaim")) .Values.modelStorage.readOnly }}
{{ print "modelFetch.enabled writes into the model volume, but modelStorage.readOnly mounts the claim read-only: set modelStorage.readOnly=false or use modelStorage.type=emptyDir" }}
{{- end }}
{{- end }}

{{/*
Value of --grpc_max_threads ("" leaves TF Serving's default, 4 x the CPUs it may run on,
model_servers/server.h:46 at 2.20.0): server.threads.grpcMax, else 4 x the CPU limit, raised with
batching to 2 x batching.maxBatchSize (see tf-serving.validateValues.threads).
*/}}
{{- define "tf-serving.grpcMaxThreads" -}}
{{- $cpus := include "tf-serving.cpuLimit" . }}
{{- if gt (int .Values.server.threads.grpcMax) 0 }}
{{- int .Values.server.threads.grpcMax }}
{{- else if $cpus }}
{{- $n := mul (int $cpus) 4 }}
{{- if .Values.batching.enabled }}{{ $n = max $n (mul 2 (int .Values.batching.maxBatchSize)) }}{{ end }}
{{- $n }}
{{- end }}
{{- end }}

{{/*
Path of the drain proxy's readiness endpoint (HAProxy monitor-uri): 200 while every model has an
AVAILABLE version, else 503. TF Serving serves nothing outside /v1/ and the metrics path.
*/}}
{{- define "tf-serving.readyPath" -}}/-/ready{{- end }}

{{/*
HAProxy backend that health-checks one model. Call with the model name.
*/}}
{{- define "tf-serving.readyBackend" -}}ready-{{ . }}{{- end }}
