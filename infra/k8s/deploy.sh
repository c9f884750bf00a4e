#!/usr/bin/env bash
# Deploys one overlay so that migrations are applied once, before the new version serves:
#   1. infra    namespace, ConfigMaps, Secrets (and bundled datastores): applied; StatefulSets waited for
#   2. migrate  the previous hitrail-migrate Job deleted, this version's applied and waited for until it
#               completes. If it fails the deploy stops here: the running version keeps serving and
#               nothing of the new one is applied.
#   3. serve    apps, autoscalers, disruption budgets and the Caddy edge: applied; rollouts waited for
# Phases come from the label hitrail.dev/deploy-phase that infra/k8s/base puts on every object.
#
# usage: infra/k8s/deploy.sh infra/k8s/overlays/production
# environment:
#   IMAGE_REGISTRY   where the images are, as <registry>/hitrail-<app> (CI: ghcr.io/<owner>)
#   IMAGE_TAG        the version to deploy (CI: the commit SHA)
#   SECRETS_ENV      env file that replaces the placeholder secrets: DATABASE_URL=… (the apps' role),
#                    MIGRATE_DATABASE_URL=… (the owner), MAINTENANCE_DATABASE_URL=…, REDIS_URL=… (and
#                    POSTGRES_PASSWORD=… with bundled datastores; SENTRY_DSN, WORKER_ADMIN_TOKEN, and
#                    DATABASE_READ_URL=… for a read replica).
#                    The owner, maintenance and datastore passwords go to hitrail-db-roles (the migrate
#                    Job; the worker gets the maintenance URL alone), the rest to hitrail-secrets.
#   WITHOUT_WEB=1    leave the dashboard (web) out, for installs that run it elsewhere or not at all
#   DRY_RUN=1        render and split into phases, print the plan, touch no cluster
#   MIGRATE_TIMEOUT  seconds to wait for the migration Job (900); ROLLOUT_TIMEOUT likewise (600)
#   KUBECTL          the kubectl to use (kubectl); it reads KUBECONFIG as usual
set -euo pipefail

die() {
  echo "deploy: $*" >&2
  exit 1
}
log() { echo "deploy: $*"; }

overlay=${1:-}
[[ -n "$overlay" && -f "$overlay/kustomization.yaml" ]] || die "usage: deploy.sh <overlay directory> (got '${overlay}')"
: "${IMAGE_REGISTRY:?set IMAGE_REGISTRY, e.g. ghcr.io/acme}"
: "${IMAGE_TAG:?set IMAGE_TAG, e.g. the commit SHA}"
: "${SECRETS_ENV:?set SECRETS_ENV to an env file with DATABASE_URL=… and REDIS_URL=…}"
[[ -r "$SECRETS_ENV" ]] || die "cannot read SECRETS_ENV '$SECRETS_ENV'"
grep -q 'CHANGE-ME' "$SECRETS_ENV" && die "$SECRETS_ENV still holds CHANGE-ME placeholders"
for key in DATABASE_URL MIGRATE_DATABASE_URL MAINTENANCE_DATABASE_URL REDIS_URL; do
  grep -q "^${key}=." "$SECRETS_ENV" || die "$SECRETS_ENV has no ${key}"
done
kubectl=${KUBECTL:-kubectl}
migrate_timeout=${MIGRATE_TIMEOUT:-900}
rollout_timeout=${ROLLOUT_TIMEOUT:-600}

# A throwaway kustomization beside the overlay (kustomize takes only relative resource paths): the
# overlay with this version's images and the real secrets.
overlay=$(cd "$overlay" && pwd)
work=$(mktemp -d "$(dirname "$overlay")/.deploy-XXXXXX")
trap 'rm -rf "$work"' EXIT
db_roles='^(MIGRATE_DATABASE_URL|MAINTENANCE_DATABASE_URL|POSTGRES_PASSWORD)='
(umask 077 && grep -vE "$db_roles" "$SECRETS_ENV" >"$work/secrets.env" || true)
(umask 077 && grep -E "$db_roles" "$SECRETS_ENV" >"$work/db-roles.env")
{
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n'
  printf 'resources:\n  - ../%s\n' "$(basename "$overlay")"
  printf 'images:\n'
  for app in tracker api worker web cli; do
    printf '  - name: hitrail-%s\n    newName: %s/hitrail-%s\n    newTag: "%s"\n' \
      "$app" "$IMAGE_REGISTRY" "$app" "$IMAGE_TAG"
  done
  printf 'secretGenerator:\n  - name: hitrail-secrets\n    behavior: replace\n    envs:\n      - secrets.env\n'
  printf '  - name: hitrail-db-roles\n    behavior: replace\n    envs:\n      - db-roles.env\n'
  if [[ "${WITHOUT_WEB:-}" == 1 ]]; then
    printf 'patches:\n'
    for object in "apps/v1 Deployment" "v1 Service" "policy/v1 PodDisruptionBudget"; do
      read -r api kind <<<"$object"
      # shellcheck disable=SC2016 # "$patch: delete" is kustomize's, not a shell expansion
      printf '  - patch: |-\n      $patch: delete\n      apiVersion: %s\n      kind: %s\n      metadata:\n        name: web\n' \
        "$api" "$kind"
    done
  fi
} >"$work/kustomization.yaml"

"$kubectl" kustomize "$work" >"$work/rendered.yaml"

# Split the rendered objects by phase (kustomize prints metadata.labels four spaces deep) and list them
# as "phase kind namespace name".
awk -v dir="$work" '
  function flush() {
    if (doc == "") return
    if (phase !~ /^(infra|migrate|serve)$/) {
      printf "%s/%s has no hitrail.dev/deploy-phase label (infra, migrate or serve)\n", kind, name > "/dev/stderr"
      failed = 1
    } else {
      printf "%s---\n", doc >> (dir "/" phase ".yaml")
      print phase, kind, (ns == "" ? "-" : ns), name
    }
    doc = ""; phase = ""; kind = ""; ns = ""; name = ""; meta = 0
  }
  /^---$/ { flush(); next }
  {
    doc = doc $0 "\n"
    if ($0 ~ /^[^ ]/) meta = ($0 ~ /^metadata:/)
    if ($0 ~ /^kind: /) kind = $2
    else if (meta && $0 ~ /^  name: /) name = $2
    else if (meta && $0 ~ /^  namespace: /) ns = $2
    else if (meta && $0 ~ /^    hitrail\.dev\/deploy-phase: /) phase = $2
  }
  END { flush(); exit failed }
' "$work/rendered.yaml" >"$work/plan"

for phase in infra migrate serve; do
  [[ -s "$work/$phase.yaml" ]] || die "the overlay renders nothing for the $phase phase"
done
grep -q '^migrate Job ' "$work/plan" || die "the migrate phase has no Job"
[[ $(grep -c '^migrate ' "$work/plan") == 1 ]] || die "the migrate phase must be exactly one Job"

log "plan ($(wc -l <"$work/plan") objects, images ${IMAGE_REGISTRY}/hitrail-*:${IMAGE_TAG}):"
sed 's/^/  /' "$work/plan"
if [[ "${DRY_RUN:-}" == 1 ]]; then
  log "DRY_RUN=1: nothing applied"
  exit 0
fi

# 1. infra
log "1/3 infra: configuration, secrets, datastores"
"$kubectl" apply -f "$work/infra.yaml"
while read -r _ kind ns name; do
  log "waiting for statefulset/$name"
  "$kubectl" rollout status "statefulset/$name" -n "$ns" --timeout="${rollout_timeout}s"
done < <(grep '^infra StatefulSet ' "$work/plan")

# 2. migrate
read -r _ _ job_ns job_name < <(grep '^migrate Job ' "$work/plan")
log "2/3 migrate: job/$job_name in $job_ns"
"$kubectl" delete -f "$work/migrate.yaml" --ignore-not-found --wait=true
"$kubectl" apply -f "$work/migrate.yaml"
deadline=$((SECONDS + migrate_timeout))
while :; do
  state=$("$kubectl" get job "$job_name" -n "$job_ns" \
    -o 'jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
  case " $state " in
    *" Complete "*)
      log "migrations applied"
      break
      ;;
    *" Failed "*)
      "$kubectl" logs "job/$job_name" -n "$job_ns" --all-containers --tail=200 || true
      die "migrations failed: stopping before the new version is applied (the running one keeps serving)"
      ;;
  esac
  if ((SECONDS >= deadline)); then
    "$kubectl" logs "job/$job_name" -n "$job_ns" --all-containers --tail=200 || true
    die "migrations did not complete within ${migrate_timeout}s: stopping before the new version is applied"
  fi
  sleep "${POLL_SECONDS:-5}"
done

# 3. serve
log "3/3 serve: apps and edge"
"$kubectl" apply -f "$work/serve.yaml"
while read -r _ kind ns name; do
  "$kubectl" rollout status "deployment/$name" -n "$ns" --timeout="${rollout_timeout}s"
done < <(grep '^serve Deployment ' "$work/plan")
log "done: ${IMAGE_REGISTRY}/hitrail-*:${IMAGE_TAG} serves"
