#!/bin/sh
# Throwaway PKI for tests and demos: a CA, server and client certificates
# (names localhost / 127.0.0.1 / ::1 / xmig-peer), an expired certificate,
# a self-signed one for pinning, and a second, unrelated CA.
# Usage: make-certs.sh DIR [NAME SAN]...
#   (idempotent: keeps an existing DIR/ca.pem and the certificates made)
# Each NAME SAN pair adds DIR/NAME.pem and DIR/NAME-key.pem, a leaf of the
# test CA for both server and client use, whose subjectAltName is SAN
# (e.g. "IP:10.200.0.2,DNS:host-b"), and DIR/NAME.sha256.
set -eu
D=${1:?usage: make-certs.sh DIR [NAME SAN]...}
shift
[ $(($# % 2)) = 0 ] || { echo "usage: make-certs.sh DIR [NAME SAN]..." >&2; exit 2; }
mkdir -p "$D"
cd "$D"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() {   # ca NAME SUBJECT
    key "$1-key.pem"
    openssl req -x509 -new -key "$1-key.pem" -out "$1.pem" -days 3650 \
        -subj "/CN=$2" -addext basicConstraints=critical,CA:true \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

leaf() {  # leaf NAME CN SAN DAYS-ARGS...
    name=$1 cn=$2 san=$3
    shift 3
    key "$name-key.pem"
    openssl req -new -key "$name-key.pem" -subj "/CN=$cn" -out "$name.csr" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem \
        -CAcreateserial -out "$name.pem" -extfile "$name.ext" "$@" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
}

extra_leaves() {  # the NAME SAN pairs, those not made yet
    while [ $# -ge 2 ]; do
        if [ ! -s "$1.pem" ]; then
            leaf "$1" "$1" "$2" -days 3650
            openssl x509 -in "$1.pem" -noout -fingerprint -sha256 |
                sed 's/.*=//' > "$1.sha256"
        fi
        shift 2
    done
}

if [ -s ca.pem ] && [ -s other-ca.pem ]; then
    extra_leaves "$@"
    exit 0
fi

ca ca "xmig test CA"
ca other-ca "unrelated CA"
leaf server localhost "DNS:localhost,DNS:xmig-peer,IP:127.0.0.1,IP:::1" -days 3650
leaf client xmig-client "DNS:xmig-client,IP:127.0.0.1" -days 3650
# Expired: valid for the past only (not before/after both in the past).
key expired-key.pem
openssl req -new -key expired-key.pem -subj /CN=localhost -out expired.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > expired.ext
openssl x509 -req -in expired.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
    -out expired.pem -extfile expired.ext -not_before 20200101000000Z \
    -not_after 20200102000000Z 2>/dev/null ||
    # OpenSSL 3.0's x509 has no -not_before: sign with "ca" and explicit dates
    {
        mkdir -p ca.db && : > ca.db/index && echo 01 > ca.db/serial
        cat > ca.cnf <<CNF
[ca]
default_ca = d
[d]
database = ca.db/index
serial = ca.db/serial
new_certs_dir = ca.db
default_md = sha256
policy = p
copy_extensions = copy
[p]
commonName = supplied
CNF
        openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca-key.pem \
            -in expired.csr -out expired.pem -startdate 20200101000000Z \
            -enddate 20200102000000Z -extfile expired.ext -notext 2>/dev/null
        rm -rf ca.db ca.cnf
    }
rm -f expired.csr expired.ext
# Self-signed, for pinning without a CA.
key selfsigned-key.pem
openssl req -x509 -new -key selfsigned-key.pem -out selfsigned.pem -days 3650 \
    -subj /CN=pinned-peer -addext subjectAltName=DNS:pinned-peer 2>/dev/null
# SHA-256 fingerprints, as xmig takes them.
for c in server client selfsigned; do
    openssl x509 -in "$c.pem" -noout -fingerprint -sha256 |
        sed 's/.*=//' > "$c.sha256"
done
extra_leaves "$@"
