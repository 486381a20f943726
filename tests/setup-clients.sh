#!/usr/bin/env bash
# Installs what the real-client tests (tests/python) need, only if it is missing:
#   - kcat from Debian (1.7.x on librdkafka 2.0.x: kept as an old-client regression check);
#   - a virtualenv at target/client-venv with the pinned confluent-kafka, kafka-python,
#     aiokafka and pytest from tests/python/requirements.txt.
# Idempotent and quick when everything is there: the venv records the hash of the
# requirements file it was built from and is only (re)installed when that changes.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/client-venv
requirements=tests/python/requirements.txt

if ! command -v kcat >/dev/null 2>&1; then
  echo "setup-clients: installing kcat (Debian)"
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); else sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq kcat >/dev/null
fi
echo "setup-clients: $(kcat -V 2>&1 | grep -m1 -i 'librdkafka' || echo 'kcat present')"

wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
stamp="$venv/.requirements-sha256"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "setup-clients: installing Python clients into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$wanted" >"$stamp"
fi
echo "setup-clients: $("$venv/bin/python" -c 'import confluent_kafka, kafka, aiokafka; print("confluent-kafka", confluent_kafka.__version__, "librdkafka", confluent_kafka.libversion()[0], "kafka-python", kafka.__version__, "aiokafka", aiokafka.__version__)')"
