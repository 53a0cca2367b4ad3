// Package selfsigned gives the fakes their TLS certificates: ECDSA P-256,
// self-signed, for loopback. httptest's own certificate has an RSA 2048
// key, so every TLS handshake costs the fake an RSA signature (about a
// millisecond and a half of CPU), and the tests make thousands of
// handshakes; a P-256 signature costs a few hundredths of that. Clients
// trust the certificate through the fake's Client or Certificate, as
// they trusted httptest's.
package selfsigned

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http/httptest"
	"time"
)

// Certificate makes a certificate for 127.0.0.1, ::1 and localhost, with
// a new key, valid from an hour ago for a day.
func Certificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // so that a pool holding it trusts it as a root
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// StartTLS starts ts over TLS with a new certificate from Certificate
// instead of httptest's; ts.Client and ts.Certificate then trust it. It
// panics, as httptest does, if the certificate cannot be made.
func StartTLS(ts *httptest.Server) {
	cert, err := Certificate()
	if err != nil {
		panic("selfsigned: " + err.Error())
	}
	if ts.TLS == nil {
		ts.TLS = &tls.Config{}
	}
	ts.TLS.Certificates = []tls.Certificate{cert}
	ts.StartTLS()
}
