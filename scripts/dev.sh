#!/usr/bin/env bash
# The dev stack on a laptop: `dev.sh up` creates a local kind cluster if there is none, logs
# Pulumi into a local state folder and runs `pulumi up -s dev`; `dev.sh down` removes both.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER="${KIND_CLUSTER:-llm-platform}"
STATE_DIR="${PULUMI_STATE_DIR:-$PWD/.pulumi-local}"
# Local state, passphrase secrets: a fixed passphrase is fine for a throwaway dev stack only.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-dev-only-passphrase}"

declare -A HINT=(
  [kind]="install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
  [docker]="install Docker (kind runs its node in a container): https://docs.docker.com/get-docker/"
  [pulumi]="install the Pulumi CLI: https://www.pulumi.com/docs/install/"
  [kubectl]="install kubectl: https://kubernetes.io/docs/tasks/tools/"
)

need() {
  local missing=0 tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "dev: missing $tool: ${HINT[$tool]}" >&2
      missing=1
    fi
  done
  if [ "$missing" -eq 1 ]; then exit 127; fi
  if [[ " $* " == *" docker "* ]] && ! docker info >/dev/null 2>&1; then
    echo "dev: docker is installed but its engine is not running (start Docker Desktop or dockerd)" >&2
    exit 1
  fi
}

login() {
  mkdir -p "$STATE_DIR"
  pulumi login "file://$STATE_DIR" >/dev/null
}

up() {
  need kind docker pulumi kubectl
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    echo "dev: using the existing kind cluster $CLUSTER"
  else
    kind create cluster --name "$CLUSTER" --config kind/cluster.yaml
  fi
  login
  pulumi stack select dev --create --secrets-provider passphrase
  pulumi up --stack dev --yes
  echo
  echo "dev: the platform is up. Reach it with:"
  echo "  kubectl -n envoy-gateway-system port-forward svc/llm-gateway 8080:80   # API on http://localhost:8080/v1"
  echo "  kubectl -n chat port-forward svc/open-webui 8081:80                   # chat UI on http://localhost:8081"
  echo "  kubectl -n monitoring port-forward svc/grafana 3000:80                # Grafana"
  echo "  pulumi stack output apiKeys --show-secrets --stack dev                 # API keys"
}

down() {
  need kind pulumi
  login
  if pulumi stack select dev >/dev/null 2>&1; then
    pulumi destroy --stack dev --yes
  fi
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    kind delete cluster --name "$CLUSTER"
  fi
  echo "dev: removed the dev stack's resources and the kind cluster $CLUSTER"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: scripts/dev.sh up|down" >&2; exit 2 ;;
esac
