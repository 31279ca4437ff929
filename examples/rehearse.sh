#!/usr/bin/env bash
# A rehearsal of pushdeploy on this machine, driven only with the AWS CLI and
# the pushdeploy CLI: the local cloud with pushdeploy installed, on a virtual
# clock that moves only when told; a service that follows web:latest; then
#   1. a good push deploys (SUCCEEDED), with the bake moved along by the clock;
#   2. a push whose tasks crash is rolled back by the circuit breaker (ROLLED_BACK);
#   3. a push whose alarm (scheduled on the clock) fires during the bake is
#      rolled back (ROLLED_BACK), and watch --latest replays it (exit 3);
#   4. a push while ECS throttles UpdateService deploys (the calls are retried).
# Each step checks its outcome; the script exits non-zero at the first surprise.
#
#   examples/rehearse.sh                   # built functions (make build)
#   IN_PROCESS=1 examples/rehearse.sh      # handlers inside the local cloud process
#   PUSHDEPLOY=/path/to/pushdeploy PORT=4566 examples/rehearse.sh
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=$(mktemp -d)
PORT=${PORT:-4566}
if [ -z "${PUSHDEPLOY:-}" ]; then
  go build -o "$WORK/pushdeploy" ./cmd/pushdeploy
  PUSHDEPLOY=$WORK/pushdeploy
fi
FUNCTIONS=()
if [ -n "${IN_PROCESS:-}" ]; then FUNCTIONS=(--in-process); else make build >/dev/null; fi

say() { printf '\n== %s\n' "$*"; }
fail() { echo "rehearse: $*" >&2; exit 1; }

say "start the local cloud with pushdeploy installed, on a virtual clock"
set -x
"$PUSHDEPLOY" localcloud --install --clock virtual --listen "127.0.0.1:$PORT" --env-file "$WORK/env" "${FUNCTIONS[@]}" \
  >"$WORK/localcloud.log" 2>"$WORK/functions.log" &
{ set +x; } 2>/dev/null
LOCALCLOUD=$!
stop() {
  kill -INT "$LOCALCLOUD" 2>/dev/null || true
  wait "$LOCALCLOUD" 2>/dev/null || true
}
trap stop EXIT
for _ in $(seq 300); do [ -s "$WORK/env" ] && break; kill -0 "$LOCALCLOUD" 2>/dev/null || break; sleep 0.1; done
[ -s "$WORK/env" ] || { cat "$WORK/localcloud.log" "$WORK/functions.log" >&2; fail "the local cloud did not start"; }
cat "$WORK/env"
set -a; . "$WORK/env"; set +a
unset AWS_PROFILE AWS_SESSION_TOKEN
export AWS_PAGER="" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

# AWS CLIs before 2.13 (Debian's 2.9 among them) ignore AWS_ENDPOINT_URL.
aws() { command aws --endpoint-url "$AWS_ENDPOINT_URL" --output text "$@"; }
pushdeploy() { "$PUSHDEPLOY" "$@"; }

aws sts get-caller-identity

say "an ECR repository and an image's blobs, uploaded as docker push uploads them"
REPO_URI=$(aws ecr create-repository --repository-name web --query repository.repositoryUri)
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$WORK/config.json"
printf 'a rehearsal layer\n' >"$WORK/layer.tar.gz"
upload_blob() { # FILE: upload it to web unless it is there
  local digest size id
  digest="sha256:$(sha256sum "$1" | cut -d' ' -f1)"
  size=$(wc -c <"$1")
  if [ "$(aws ecr batch-check-layer-availability --repository-name web --layer-digests "$digest" --query 'layers[0].layerAvailability')" = AVAILABLE ]; then
    return
  fi
  id=$(aws ecr initiate-layer-upload --repository-name web --query uploadId)
  aws ecr upload-layer-part --repository-name web --upload-id "$id" --part-first-byte 0 --part-last-byte $((size - 1)) \
    --layer-part-blob "fileb://$1" >/dev/null
  aws ecr complete-layer-upload --repository-name web --upload-id "$id" --layer-digests "$digest" >/dev/null
}
upload_blob "$WORK/config.json"
upload_blob "$WORK/layer.tar.gz"
# manifest VERSION: an OCI image manifest of those blobs; its annotation makes
# each version a distinct image (digest).
manifest() {
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":"sha256:%s"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":%d,"digest":"sha256:%s"}],"annotations":{"org.opencontainers.image.version":"%s"}}' \
    "$(wc -c <"$WORK/config.json")" "$(sha256sum "$WORK/config.json" | cut -d' ' -f1)" \
    "$(wc -c <"$WORK/layer.tar.gz")" "$(sha256sum "$WORK/layer.tar.gz" | cut -d' ' -f1)" "$1"
}
digest_of() { echo "sha256:$(manifest "$1" | sha256sum | cut -d' ' -f1)"; }
push() { # VERSION TAG: put the manifest, as docker push ends; prints the digest
  aws ecr put-image --repository-name web --image-tag "$2" --image-manifest "$(manifest "$1")" --query image.imageId.imageDigest
}
V0=$(push v0 v0)
[ "$V0" = "$(digest_of v0)" ] || fail "digest $V0, want $(digest_of v0)"

say "a service that follows web:latest, with an alarm and a five-minute bake"
aws cloudwatch put-metric-alarm --alarm-name web-5xx --namespace App --metric-name 5xx --statistic Sum --period 60 \
  --evaluation-periods 1 --threshold 1 --comparison-operator GreaterThanOrEqualToThreshold
aws cloudwatch set-alarm-state --alarm-name web-5xx --state-value OK --state-reason "rehearsal: start clean"
aws ecs create-cluster --cluster-name demo --query cluster.clusterArn
TD=$(aws ecs register-task-definition --family web --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --execution-role-arn arn:aws:iam::123456789012:role/ecsTaskExecutionRole \
  --container-definitions "[{\"name\":\"app\",\"image\":\"$REPO_URI@$V0\",\"essential\":true}]" \
  --query taskDefinition.taskDefinitionArn)
aws ecs create-service --cluster demo --service-name web --task-definition "$TD" --desired-count 3 --launch-type FARGATE \
  --network-configuration 'awsvpcConfiguration={subnets=[subnet-0a1b2c3d],securityGroups=[sg-0a1b2c3d]}' \
  --deployment-configuration 'deploymentCircuitBreaker={enable=true,rollback=true},maximumPercent=200,minimumHealthyPercent=100' \
  --tags '[{"key":"pushdeploy:repository","value":"web"},{"key":"pushdeploy:tags","value":"latest"},{"key":"pushdeploy:containers","value":"app"},{"key":"pushdeploy:alarms","value":"web-5xx"},{"key":"pushdeploy:bake","value":"5m"},{"key":"pushdeploy:timeout","value":"20m"}]' \
  --query service.serviceArn
pushdeploy localcloud clock advance 3m # the service's first rollout (two minutes)
aws ecs list-tasks --cluster demo --service-name web --query 'length(taskArns)'

# outcome: the newest record's outcome in pushdeploy's history.
outcome() {
  pushdeploy history --cluster demo --service web --output json | grep -m1 -o '"outcome": *"[A-Z_]*"' | grep -o '[A-Z_]*"$' | tr -d '"'
}
executions() { aws stepfunctions list-executions --state-machine-arn "$PUSHDEPLOY_STATE_MACHINE_ARN" --query 'length(executions)'; }
newest() { aws stepfunctions list-executions --state-machine-arn "$PUSHDEPLOY_STATE_MACHINE_ARN" --max-items 1 --query 'executions[0].status' | head -1; }
expect() { # WHAT GOT WANT
  if [ "$2" != "$3" ]; then
    cat "$WORK/localcloud.log" >&2
    fail "$1: $2, want $3"
  fi
  echo "ok: $1 is $3"
}

say "1. push a good image to web:latest: it deploys"
push v1 latest
pushdeploy localcloud clock advance 3m # rollout done; the bake has two of its five minutes left
expect "executions" "$(executions)" 1
expect "the deploy, in its bake" "$(newest)" RUNNING
pushdeploy localcloud clock advance 10m # the bake ends
expect "the deploy" "$(outcome)" SUCCEEDED
aws ecs describe-tasks --cluster demo --tasks "$(aws ecs list-tasks --cluster demo --service-name web --query 'taskArns[0]')" \
  --query 'tasks[0].containers[0].image'

say "2. push an image whose tasks crash on start: the circuit breaker rolls it back"
pushdeploy localcloud fault image --image "$(digest_of v2)" --mode fail-to-start
push v2 latest
pushdeploy localcloud clock advance 20m
expect "the deploy" "$(outcome)" ROLLED_BACK
pushdeploy localcloud fault clear

say "3. push an image whose alarm fires during the bake: pushdeploy rolls it back"
# On the cloud's clock: ALARM three minutes into the bake, OK ten minutes later.
pushdeploy localcloud alarm set web-5xx --state ALARM --in 5m --for 10m --reason "rehearsal: 5xx spike"
push v3 latest
pushdeploy localcloud clock advance 20m
expect "the deploy" "$(outcome)" ROLLED_BACK
code=0
pushdeploy watch --cluster demo --service web --latest > "$WORK/watch.log" || code=$?
expect "watch --latest's exit code (rolled back)" "$code" 3
grep -q '== ROLLED_BACK: alarm' "$WORK/watch.log" || fail "watch --latest did not replay the alarm's rollback"
grep -q 'ecs: (service web)' "$WORK/watch.log" || fail "watch --latest shows none of the service's ECS events"
expect "the alarm, after its window" "$(aws cloudwatch describe-alarms --alarm-names web-5xx --query 'MetricAlarms[0].StateValue')" OK

say "4. push while ECS throttles the next two UpdateService calls: retried, it deploys"
pushdeploy localcloud fault throttle --operation ecs:UpdateService --rate 1 --limit 2
push v4 latest
pushdeploy localcloud clock advance 20m
expect "the deploy" "$(outcome)" SUCCEEDED
throttled=$(grep -c 'ecs:UpdateService.*-> ThrottlingException' "$WORK/localcloud.log" || true)
[ "$throttled" -ge 1 ] || fail "no UpdateService call was throttled"
echo "ok: $throttled UpdateService calls were throttled and retried"
pushdeploy localcloud fault clear

say "what an operator sees"
pushdeploy history --cluster demo --service web
pushdeploy status --cluster demo --service web
pushdeploy localcloud clock now

say "stop the local cloud (SIGINT: a clean exit 0)"
trap - EXIT
kill -INT "$LOCALCLOUD"
code=0
wait "$LOCALCLOUD" || code=$?
[ "$code" = 0 ] || fail "the local cloud exited $code"
echo "rehearsal passed"
