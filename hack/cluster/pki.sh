#!/usr/bin/env bash
# Create the offline cluster's certificates, keys and kubeconfigs with openssl.
#
# Usage: hack/cluster/pki.sh   (called by hack/cluster-up.sh; idempotent)
#
# One CA signs every serving and client certificate; a separate RSA key pair
# signs service-account tokens. Existing files are kept so restarts reuse them.
set -o errexit -o nounset -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=hack/cluster/lib.sh
source "${REPO_ROOT}/hack/cluster/lib.sh"

DAYS=365

make_ca() {
  [[ -f "${PKI_DIR}/ca.crt" ]] && return
  openssl genrsa -out "${PKI_DIR}/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -nodes -key "${PKI_DIR}/ca.key" -subj "/CN=tf-serving-k8s-ca" \
    -days "${DAYS}" -out "${PKI_DIR}/ca.crt" 2>/dev/null
}

# make_cert NAME SUBJECT KIND [SANS]: KIND is client or server; SANS like
# "DNS:a,IP:1.2.3.4".
make_cert() {
  local name="$1" subject="$2" kind="$3" sans="${4:-}" ext
  [[ -f "${PKI_DIR}/${name}.crt" ]] && return
  ext="${PKI_DIR}/${name}.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ "${kind}" == server ]]; then
      echo "extendedKeyUsage=serverAuth"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
    [[ -n "${sans}" ]] && echo "subjectAltName=${sans}"
  } >"${ext}"
  openssl genrsa -out "${PKI_DIR}/${name}.key" 2048 2>/dev/null
  openssl req -new -key "${PKI_DIR}/${name}.key" -subj "${subject}" -out "${PKI_DIR}/${name}.csr" 2>/dev/null
  openssl x509 -req -in "${PKI_DIR}/${name}.csr" -CA "${PKI_DIR}/ca.crt" -CAkey "${PKI_DIR}/ca.key" \
    -CAcreateserial -days "${DAYS}" -extfile "${ext}" -out "${PKI_DIR}/${name}.crt" 2>/dev/null
  rm -f "${PKI_DIR}/${name}.csr" "${ext}"
}

make_service_account_keys() {
  [[ -f "${PKI_DIR}/sa.key" ]] && return
  openssl genrsa -out "${PKI_DIR}/sa.key" 2048 2>/dev/null
  openssl rsa -in "${PKI_DIR}/sa.key" -pubout -out "${PKI_DIR}/sa.pub" 2>/dev/null
}

# make_kubeconfig FILE CERT_NAME USER
make_kubeconfig() {
  local file="$1" cert="$2" user="$3"
  cat >"${file}" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: tf-serving-k8s
  cluster:
    server: ${API_SERVER}
    certificate-authority: ${PKI_DIR}/ca.crt
users:
- name: ${user}
  user:
    client-certificate: ${PKI_DIR}/${cert}.crt
    client-key: ${PKI_DIR}/${cert}.key
contexts:
- name: tf-serving-k8s
  context:
    cluster: tf-serving-k8s
    user: ${user}
    namespace: default
current-context: tf-serving-k8s
KUBECONFIG
  chmod 600 "${file}"
}

main() {
  mkdir -p "${PKI_DIR}"
  chmod 700 "${PKI_DIR}"
  make_ca
  make_service_account_keys
  make_cert apiserver "/CN=kube-apiserver" server \
    "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.${CLUSTER_DOMAIN},DNS:localhost,IP:127.0.0.1,IP:${BRIDGE_IP},IP:${KUBERNETES_SERVICE_IP}"
  make_cert kubelet-serving "/CN=${NODE_NAME}" server "DNS:${NODE_NAME},DNS:localhost,IP:127.0.0.1,IP:${BRIDGE_IP}"
  make_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" client
  make_cert admin "/O=system:masters/CN=tf-serving-admin" client
  make_cert kubelet "/O=system:nodes/CN=system:node:${NODE_NAME}" client
  make_cert controller-manager "/CN=system:kube-controller-manager" client
  make_cert scheduler "/CN=system:kube-scheduler" client
  make_cert kube-proxy "/CN=system:kube-proxy" client
  make_cert coredns "/CN=tf-serving-coredns" client
  make_kubeconfig "${KUBECONFIG_PATH}" admin tf-serving-admin
  make_kubeconfig "${STATE_DIR}/kubelet.kubeconfig" kubelet "system:node:${NODE_NAME}"
  make_kubeconfig "${STATE_DIR}/controller-manager.kubeconfig" controller-manager system:kube-controller-manager
  make_kubeconfig "${STATE_DIR}/scheduler.kubeconfig" scheduler system:kube-scheduler
  make_kubeconfig "${STATE_DIR}/kube-proxy.kubeconfig" kube-proxy system:kube-proxy
  make_kubeconfig "${STATE_DIR}/coredns.kubeconfig" coredns tf-serving-coredns
}

main "$@"
