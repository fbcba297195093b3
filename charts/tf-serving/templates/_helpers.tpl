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
The one label helper, per component: (dict "root" $ "component" "model-server"|"gateway").
Selector labels are immutable after install: never add version or chart to them. The
gateway's `name` differs from the server's, so neither selects the other's pods.
*/}}
{{- define "tf-serving.componentSelectorLabels" -}}
app.kubernetes.io/name: {{ include "tf-serving.name" .root }}{{ if eq .component "gateway" }}-gateway{{ end }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{- define "tf-serving.componentLabels" -}}
{{- $version := ternary .root.Values.gateway.image.tag (include "tf-serving.imageTag" .root) (eq .component "gateway") -}}
helm.sh/chart: {{ include "tf-serving.chart" .root }}
{{ include "tf-serving.componentSelectorLabels" . }}
app.kubernetes.io/version: {{ $version | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: tf-serving
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{/*
Labels and selector labels of the model server and of the gateway.
*/}}
{{- define "tf-serving.labels" -}}
{{ include "tf-serving.componentLabels" (dict "root" . "component" "model-server") }}
{{- end }}

{{- define "tf-serving.selectorLabels" -}}
{{ include "tf-serving.componentSelectorLabels" (dict "root" . "component" "model-server") }}
{{- end }}

{{- define "tf-serving.gatewayLabels" -}}
{{ include "tf-serving.componentLabels" (dict "root" . "component" "gateway") }}
{{- end }}

{{- define "tf-serving.gatewaySelectorLabels" -}}
{{ include "tf-serving.componentSelectorLabels" (dict "root" . "component" "gateway") }}
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
Image tag: image.tag or the appVersion (tf-serving.validateValues.image refuses `latest`).
*/}}
{{- define "tf-serving.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString }}
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
All models as a JSON list, the primary model first. Keys default as for `model`; the schema checks
each entry and tf-serving.validateValues.models checks them together.
*/}}
{{- define "tf-serving.models" -}}
{{- $models := list }}
{{- $all := prepend (.Values.extraModels | default list) .Values.model }}
{{- range $m := $all }}
{{- $policy := $m.versionPolicy | default "latest" }}
{{- $specific := $m.specificVersions | default list }}
{{- $latest := $m.latestVersions | default 1 | int }}
{{- $labels := $m.versionLabels | default dict }}
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
{{- if gt (int .Values.server.grpc.maxConnectionAgeMs) 0 }}
{{- $args = append $args (printf "grpc.max_connection_age_ms=%d" (int .Values.server.grpc.maxConnectionAgeMs)) }}
{{- end }}
{{- if gt (int .Values.server.grpc.maxConnectionAgeGraceMs) 0 }}
{{- $args = append $args (printf "grpc.max_connection_age_grace_ms=%d" (int .Values.server.grpc.maxConnectionAgeGraceMs)) }}
{{- end }}
{{- range $k, $v := .Values.server.grpc.channelArguments }}
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
The model volume source for modelStorage.type (an enum in the schema).
*/}}
{{- define "tf-serving.modelVolume" -}}
{{- $s := .Values.modelStorage }}
{{- if eq $s.type "persistentVolumeClaim" }}
persistentVolumeClaim:
  claimName: {{ include "tf-serving.fullname" . }}-models
  readOnly: {{ $s.readOnly }}
{{- else if eq $s.type "existingClaim" }}
persistentVolumeClaim:
  claimName: {{ $s.existingClaim }}
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
{{- end }}
{{- end }}

{{/*
Bytes in a Kubernetes memory quantity such as 512Mi, 2Gi, 1G or 1048576 (the schema's pattern).
*/}}
{{- define "tf-serving.quantityBytes" -}}
{{- $q := toString . }}
{{- $number := regexFind "^[0-9.]+" $q }}
{{- $unit := trimPrefix $number $q }}
{{- $multipliers := dict "" 1 "k" 1000 "K" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "P" 1000000000000000 "E" 1000000000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "Pi" 1125899906842624 "Ei" 1152921504606846976 }}
{{- mulf (float64 $number) (get $multipliers $unit) | int64 }}
{{- end }}

{{/*
A warning line when resources.limits.memory cannot hold a version swap while hot swaps are on (a new
version loads before the old one unloads): the server's own memory (256Mi, the assumption
tfserving_contract/headroom.py makes) + every model's versions that stay loaded + the largest new
version, each model.sizeBytes; empty otherwise. `latest: N` keeps max(N-1, 1) old versions loaded.
*/}}
{{- define "tf-serving.memoryWarning" -}}
{{- $baseline := "256Mi" }}
{{- $kept := 0 }}
{{- $largest := 0 }}
{{- range (include "tf-serving.models" . | fromJsonArray) }}
{{- $versions := 1 }}
{{- if eq .versionPolicy "latest" }}{{ $versions = max 1 (sub (int .latestVersions) 1) }}{{ end }}
{{- if eq .versionPolicy "specific" }}{{ $versions = max 1 (len .specificVersions) }}{{ end }}
{{- $kept = add $kept (mul (int64 .sizeBytes) $versions) }}
{{- $largest = max $largest (int64 .sizeBytes) }}
{{- end }}
{{- $limits := (.Values.resources | default dict).limits | default dict }}
{{- if and (gt (int64 $largest) 0) $limits.memory (gt (int .Values.server.fileSystemPollWaitSeconds) 0) }}
{{- $limit := include "tf-serving.quantityBytes" $limits.memory | int64 }}
{{- $need := add (include "tf-serving.quantityBytes" $baseline | int64) $kept $largest }}
{{- if lt $limit $need }}
{{- printf "WARNING: resources.limits.memory (%v) is below the %d bytes a version swap needs: %s assumed for the server + %d bytes of versions that stay loaded + %d bytes for the largest new version (model.sizeBytes). TF Serving loads a new version before it unloads the old one, so the pod may be OOM-killed: raise the limit, or set server.fileSystemPollWaitSeconds: 0 and server.modelConfigPollSeconds: 0 (swaps become pod rollouts)." $limits.memory $need $baseline $kept $largest }}
{{- end }}
{{- end }}
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
Port the server's REST API listens on: behind the drain proxy its own port, else server.ports.http.
*/}}
{{- define "tf-serving.serverRestPort" -}}
{{- if .Values.drainProxy.enabled }}{{ .Values.drainProxy.serverHttpPort }}{{ else }}{{ .Values.server.ports.http }}{{ end }}
{{- end }}

{{/*
Every cross-field rule of the chart, bitnami style; per-field rules (types, enums, patterns,
ranges) are in values.schema.json and nowhere else, except image.tag's (validateValues.image says why). Each `tf-serving.validateValues.*` helper
prints one line per problem (naming the keys and the fix), and this one fails once with all of
them. Included from the Deployment, which every install renders.
*/}}
{{- define "tf-serving.validateValues" -}}
{{- $messages := list }}
{{- range list "renamed" "image" "models" "modelStorage" "modelFetch" "ports" "shutdown" "polling" "threads" "channelArguments" "batching" "probes" "ingress" "metrics" "autoscaling" "podDisruptionBudget" }}
{{- $out := include (printf "tf-serving.validateValues.%s" .) $ | trim }}
{{- if $out }}{{ $messages = concat $messages (splitList "\n" $out) }}{{ end }}
{{- end }}
{{- if $messages }}
{{- fail (printf "\nVALUES VALIDATION:\n%s" (join "\n" $messages)) }}
{{- end }}
{{- end }}

{{/*
Values renamed in chart 0.6.0 (README, Upgrading). The schema accepts the old keys only so that
this check can name their new place.
*/}}
{{- define "tf-serving.validateValues.renamed" -}}
{{- $renamed := dict
  "monitoring" "metrics"
  "serviceMonitor" "metrics.serviceMonitor"
  "prometheusRule" "metrics.prometheusRule"
  "grpcIngress" "ingress.grpc"
  "ingress.enabled" "ingress.rest.enabled"
  "ingress.className" "ingress.rest.className"
  "ingress.annotations" "ingress.rest.annotations"
  "ingress.hosts" "ingress.rest.hosts"
  "ingress.tls" "ingress.rest.tls"
  "grpc" "server.grpc"
  "server.grpcPort" "server.ports.grpc"
  "server.restPort" "server.ports.http"
  "service.httpPort" "service.ports.http"
  "service.grpcPort" "service.ports.grpc"
  "drainProxy.serverRestPort" "drainProxy.serverHttpPort"
  "shareProcessNamespace" "shutdown.shareProcessNamespace"
  "preStopSleepSeconds" "shutdown.preStopSleepSeconds"
  "endpointRemovalSeconds" "shutdown.endpointRemovalSeconds"
  "terminationGracePeriodSeconds" "shutdown.terminationGracePeriodSeconds"
  "gateway.port" "gateway.ports.http"
  "gateway.service.port" "gateway.service.ports.http" }}
{{- range $old, $new := $renamed }}
{{- $node := $.Values }}
{{- $found := true }}
{{- range splitList "." $old }}
{{- if and $found (kindIs "map" $node) (hasKey $node .) }}{{ $node = get $node . }}{{ else }}{{ $found = false }}{{ end }}
{{- end }}
{{- if $found }}
{{ printf "%s was renamed to %s in chart 0.6.0: move the setting there (chart README, Upgrading)" $old $new }}
{{- end }}
{{- end }}
{{- end }}

{{/*
`latest` makes rollouts unrepeatable. A per-field rule kept here rather than in the schema: JSON
Schema's `not` fails with "'not' failed", which names no fix.
*/}}
{{- define "tf-serving.validateValues.image" -}}
{{- $tag := include "tf-serving.imageTag" . }}
{{- if or (eq $tag "latest") (hasPrefix "latest-" $tag) }}
{{ printf "image.tag: %q is not allowed; pin a release such as %q (allowed: an explicit version tag, never latest)" $tag .Chart.AppVersion }}
{{- end }}
{{- end }}

{{/*
Models together: unique names, a version list for `specific`, labels on served versions.
*/}}
{{- define "tf-serving.validateValues.models" -}}
{{- $names := dict }}
{{- range $i, $m := prepend (.Values.extraModels | default list) .Values.model }}
{{- $key := ternary "model" (printf "extraModels[%d]" (sub $i 1)) (eq $i 0) }}
{{- if hasKey $names $m.name }}
{{ printf "%s.name: %q is used by more than one model; model names must be unique" $key $m.name }}
{{- end }}
{{- $_ := set $names $m.name true }}
{{- if eq ($m.versionPolicy | default "latest") "specific" }}
{{- $served := list }}
{{- range $m.specificVersions | default list }}{{ $served = append $served (toString (int .)) }}{{ end }}
{{- if not $served }}
{{ printf "%s.specificVersions must list at least one version when %s.versionPolicy is specific" $key $key }}
{{- end }}
{{- range $label, $version := $m.versionLabels | default dict }}
{{- if and $served (not (has (toString (int $version)) $served)) }}
{{ printf "%s.versionLabels.%s: version %v is not in %s.specificVersions %v; a label must point at a served version" $key $label $version $key $served }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tf-serving.validateValues.modelStorage" -}}
{{- if and (eq .Values.modelStorage.type "existingClaim") (not .Values.modelStorage.existingClaim) }}
{{ print "modelStorage.existingClaim is required when modelStorage.type is existingClaim: the name of a PVC holding <model>/<version>/saved_model.pb" }}
{{- end }}
{{- end }}

{{/*
The fetch init container needs a source and writes into the model volume.
*/}}
{{- define "tf-serving.validateValues.modelFetch" -}}
{{- if .Values.modelFetch.enabled }}
{{- if not .Values.modelFetch.source }}
{{ print "modelFetch.source is required when modelFetch.enabled: s3://bucket/prefix, gs://bucket/prefix or https://.../model.tar.gz" }}
{{- end }}
{{- if and (has .Values.modelStorage.type (list "persistentVolumeClaim" "existingClaim")) .Values.modelStorage.readOnly }}
{{ print "modelFetch.enabled writes into the model volume, but modelStorage.readOnly mounts the claim read-only: set modelStorage.readOnly=false or use modelStorage.type=emptyDir" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Ports. Equal gRPC and REST ports: TF Serving logs an error and never opens REST
(tensorflow_serving/model_servers/server.cc:437-459 at 2.20.0). Behind the drain proxy,
server.ports.http is the proxy's and the server's REST port is drainProxy.serverHttpPort; all
share the pod's network namespace.
*/}}
{{- define "tf-serving.validateValues.ports" -}}
{{- $grpc := int .Values.server.ports.grpc }}
{{- $http := int .Values.server.ports.http }}
{{- if eq $grpc $http }}
{{ printf "server.ports.grpc and server.ports.http are both %d: TF Serving then never opens its REST API (\"http_port cannot be same as grpc_port\"); give them different ports, e.g. server.ports.grpc=8500 and server.ports.http=8501" $grpc }}
{{- end }}
{{- if .Values.drainProxy.enabled }}
{{- $port := int .Values.drainProxy.serverHttpPort }}
{{- if or (eq $port $http) (eq $port $grpc) }}
{{ printf "drainProxy.serverHttpPort (%d) must differ from server.ports.http (%d, the proxy's port) and server.ports.grpc (%d); pick a free pod-internal port such as 8511" $port $http $grpc }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Shutdown timings under which TF Serving (no SIGTERM handler: it dies at once) could still have
clients when it is killed.
*/}}
{{- define "tf-serving.validateValues.shutdown" -}}
{{- $s := .Values.shutdown }}
{{- $preStopMs := mul (int $s.preStopSleepSeconds) 1000 }}
{{- $removalMs := mul (int $s.endpointRemovalSeconds) 1000 }}
{{- if le (int $s.terminationGracePeriodSeconds) (int $s.preStopSleepSeconds) }}
{{ printf "shutdown.terminationGracePeriodSeconds (%v) must be greater than shutdown.preStopSleepSeconds (%v), or the server is killed before it can stop" $s.terminationGracePeriodSeconds $s.preStopSleepSeconds }}
{{- end }}
{{- if ge $removalMs $preStopMs }}
{{ printf "shutdown.endpointRemovalSeconds (%v) must be less than shutdown.preStopSleepSeconds (%v): the server must outlive its removal from the endpoints" $s.endpointRemovalSeconds $s.preStopSleepSeconds }}
{{- end }}
{{- $age := int .Values.server.grpc.maxConnectionAgeMs }}
{{- $grace := int .Values.server.grpc.maxConnectionAgeGraceMs }}
{{- if gt $age 0 }}
{{- if le $grace 0 }}
{{ print "server.grpc.maxConnectionAgeGraceMs must be > 0 when server.grpc.maxConnectionAgeMs is set: without it gRPC core waits for in-flight calls forever, past SIGTERM" }}
{{- else }}
{{- /* gRPC core jitters the age by +-10%. */}}
{{- $needMs := add $removalMs (div (mul $age 11) 10) $grace }}
{{- if gt $needMs $preStopMs }}
{{ printf "server.grpc.maxConnectionAgeMs (%d, +10%% jitter) + server.grpc.maxConnectionAgeGraceMs (%d) + shutdown.endpointRemovalSeconds (%v s) = %d ms exceeds shutdown.preStopSleepSeconds (%v s): a gRPC connection could outlive the server, which dies at once on SIGTERM; lower the age or raise shutdown.preStopSleepSeconds to at least %d" $age $grace $s.endpointRemovalSeconds $needMs $s.preStopSleepSeconds (div (add $needMs 999) 1000) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.drainProxy.enabled (lt (sub (int $s.preStopSleepSeconds) (int $s.endpointRemovalSeconds)) 3) }}
{{ printf "shutdown.preStopSleepSeconds (%v) must be at least shutdown.endpointRemovalSeconds (%v) + 3 with drainProxy.enabled: open REST connections need time for one more request, answered with Connection: close" $s.preStopSleepSeconds $s.endpointRemovalSeconds }}
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
{{- $owned := dict "grpc.max_connection_age_ms" "server.grpc.maxConnectionAgeMs" "grpc.max_connection_age_grace_ms" "server.grpc.maxConnectionAgeGraceMs" }}
{{- range $key, $value := .Values.server.grpc.channelArguments }}
{{- $text := toString $value }}
{{- if hasKey $owned $key }}
{{ printf "server.grpc.channelArguments.%s is set by the chart: use %s instead" $key (get $owned $key) }}
{{- else if or (kindIs "invalid" $value) (eq $text "") }}
{{ printf "server.grpc.channelArguments.%s has no value: TF Serving would pass an empty argument; give it a value or remove the key" $key }}
{{- else if or (contains "," $text) (contains "=" $text) (contains "," $key) (contains "=" $key) }}
{{ printf "server.grpc.channelArguments.%s: %q contains \",\" or \"=\", which TF Serving's --grpc_channel_arguments parser splits on without bounds checks (a part without \"=\" is read out of range, a \"=\" cuts the value); such a value cannot be passed: remove it" $key $text }}
{{- end }}
{{- end }}
{{- range .Values.server.extraArgs }}
{{- if regexMatch "^--grpc_channel_arguments(=|$)" (toString .) }}
{{ print "server.extraArgs: --grpc_channel_arguments would replace the chart's own flag (server.grpc.maxConnectionAgeMs, server.grpc.maxConnectionAgeGraceMs); set the arguments as server.grpc.channelArguments (name: value) instead" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tf-serving.validateValues.batching" -}}
{{- with .Values.batching }}
{{- if and .enabled .allowedBatchSizes (ne (int (last .allowedBatchSizes)) (int .maxBatchSize)) }}
{{ printf "batching.allowedBatchSizes: the last entry (%v) must equal batching.maxBatchSize (%v)" (last .allowedBatchSizes) .maxBatchSize }}
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
Ingresses: gRPC needs TLS (ingress-nginx serves gRPC over HTTP/2); the gateway's route shares the
REST Ingress and must not take one of TF Serving's paths.
*/}}
{{- define "tf-serving.validateValues.ingress" -}}
{{- $gw := .Values.gateway }}
{{- if and .Values.ingress.grpc.enabled (not .Values.ingress.grpc.tls) }}
{{ print "ingress.grpc.tls is required when ingress.grpc.enabled is true: ingress-nginx serves gRPC over HTTP/2, which needs TLS (set ingress.grpc.tls to a list of {secretName, hosts})" }}
{{- end }}
{{- if and $gw.ingress.enabled (not $gw.enabled) }}
{{ print "gateway.ingress.enabled needs gateway.enabled=true" }}
{{- end }}
{{- if and $gw.ingress.enabled $gw.enabled (not .Values.ingress.rest.enabled) }}
{{ print "gateway.ingress.enabled adds a route to the REST Ingress: set ingress.rest.enabled=true" }}
{{- end }}
{{- if and .Values.ingress.rest.enabled $gw.enabled $gw.ingress.enabled }}
{{- range .Values.ingress.rest.hosts }}
{{- range .paths }}
{{- if eq .path $gw.ingress.path }}
{{ printf "ingress.rest.hosts path %q goes to TF Serving and to the gateway (gateway.ingress.path): serve TF Serving on /v1 and the gateway on /, or pick another gateway.ingress.path" .path }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Metrics: the ServiceMonitor scrapes TF Serving's own endpoint; the alerts select series by the
namespace and service labels the Prometheus Operator adds when scraping through it.
*/}}
{{- define "tf-serving.validateValues.metrics" -}}
{{- $m := .Values.metrics }}
{{- if and $m.serviceMonitor.enabled (not $m.enabled) }}
{{ print "metrics.serviceMonitor.enabled needs metrics.enabled=true: TF Serving exports metrics only with a monitoring config" }}
{{- end }}
{{- if and $m.prometheusRule.enabled (not $m.enabled) }}
{{ print "metrics.prometheusRule.enabled needs metrics.enabled=true: the alerts read TF Serving's own metrics" }}
{{- end }}
{{- if and $m.prometheusRule.enabled (not $m.serviceMonitor.enabled) }}
{{ print "metrics.prometheusRule.enabled needs metrics.serviceMonitor.enabled=true: the alerts select series by the namespace and service labels the Prometheus Operator adds when scraping through the ServiceMonitor" }}
{{- end }}
{{- end }}

{{- define "tf-serving.validateValues.autoscaling" -}}
{{- $a := .Values.autoscaling }}
{{- if $a.enabled }}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) }}
{{ printf "autoscaling.minReplicas (%v) must not exceed autoscaling.maxReplicas (%v)" $a.minReplicas $a.maxReplicas }}
{{- end }}
{{- if and (gt (int $a.targetCPUUtilizationPercentage) 0) (not (dig "requests" "cpu" "" (.Values.resources | default dict))) }}
{{ print "autoscaling.targetCPUUtilizationPercentage needs resources.requests.cpu (utilisation is a percentage of the request); set it, or set the target to 0 and use autoscaling.metrics" }}
{{- end }}
{{- if and (eq (int $a.targetCPUUtilizationPercentage) 0) (not $a.metrics) }}
{{ print "autoscaling.enabled needs a metric: autoscaling.targetCPUUtilizationPercentage > 0 or autoscaling.metrics" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tf-serving.validateValues.podDisruptionBudget" -}}
{{- if and .Values.podDisruptionBudget.enabled (lt (int (include "tf-serving.minReplicas" .)) 2) }}
{{ printf "podDisruptionBudget.enabled needs replicaCount (or autoscaling.minReplicas) >= 2 (got %v); with one replica the budget blocks every node drain" (include "tf-serving.minReplicas" .) }}
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
