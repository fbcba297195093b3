# Check the model layout before tensorflow_model_server starts (POSIX sh builtins only).
# Arguments: triples of <model name> <base path> <required versions, comma-separated, or "">.
# Every model needs at least one <base path>/<integer version>/saved_model.pb.
status=0
while [ "$#" -ge 3 ]; do
  name="$1"; base="$2"; required="$3"; shift 3
  expected="expected $base/<version>/saved_model.pb, e.g. $base/1/saved_model.pb"
  if [ ! -d "$base" ]; then
    echo "ERROR: model \"$name\": base path $base does not exist; $expected" >&2
    status=1
    continue
  fi
  found=""
  for dir in "$base"/*/; do
    dir="${dir%/}"
    version="${dir##*/}"
    case "$version" in
      '' | *[!0-9]*) continue ;;
    esac
    if [ -f "$dir/saved_model.pb" ] || [ -f "$dir/saved_model.pbtxt" ]; then
      found="$found $version"
    else
      echo "WARNING: model \"$name\": $dir has no saved_model.pb; version $version will fail to load" >&2
    fi
  done
  if [ -z "$found" ]; then
    echo "ERROR: model \"$name\": no numbered version under $base; $expected" >&2
    echo "       (directories whose names are not integers are ignored)" >&2
    status=1
    continue
  fi
  missing=0
  if [ -n "$required" ]; then
    old_ifs="$IFS"
    IFS=,
    for version in $required; do
      if [ ! -f "$base/$version/saved_model.pb" ] && [ ! -f "$base/$version/saved_model.pbtxt" ]; then
        echo "ERROR: model \"$name\": version $version is in specificVersions," \
          "but $base/$version/saved_model.pb is missing" >&2
        status=1
        missing=1
      fi
    done
    IFS="$old_ifs"
  fi
  if [ "$missing" -eq 0 ]; then
    echo "OK: model \"$name\": versions${found} under $base"
  fi
done
exit "$status"
