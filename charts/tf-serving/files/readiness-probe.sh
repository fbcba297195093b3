# Readiness without the drain proxy (bash builtins only: the tensorflow/serving image has no curl).
# Arguments: <REST port> <read timeout in seconds> <model name>...
# Ready when GET /v1/models/<name>/metadata answers 200 for every model: TF Serving answers 404
# when a model has no AVAILABLE version, while its status endpoint keeps answering 200.
port="$1"
timeout="$2"
shift 2
for model in "$@"; do
  if ! { exec 3<>"/dev/tcp/127.0.0.1/${port}"; } 2>/dev/null; then
    echo "not ready: nothing accepts connections on the REST port ${port}"
    exit 1
  fi
  printf 'GET /v1/models/%s/metadata HTTP/1.0\r\n\r\n' "${model}" >&3
  status=""
  read -r -t "${timeout}" _ status _ <&3
  exec 3<&-
  if [ "${status}" != "200" ]; then
    echo "not ready: model \"${model}\" has no AVAILABLE version" \
      "(GET /v1/models/${model}/metadata answered ${status:-nothing})"
    exit 1
  fi
done
