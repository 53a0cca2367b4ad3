package faketeams

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// NewCertificate makes a self-signed certificate and its RSA key, and
// returns them with both PEM-encoded in one file's bytes.
func NewCertificate() (*x509.Certificate, *rsa.PrivateKey, []byte) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "cippbot"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, _ := x509.ParseCertificate(der)
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(key))})...)
	return cert, key, out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// RegisterCertificate adds a certificate credential to the app.
func (s *Server) RegisterCertificate(c *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.certs = append(s.certs, c)
}

// checkAssertion verifies a client assertion the way Entra ID does
// (learn.microsoft.com/entra/identity-platform/certificate-credentials):
// PS256 with x5t#S256 (the SHA-256 thumbprint), or the older RS256 with
// x5t (SHA-1), naming a registered certificate; aud the token endpoint,
// iss and sub the app, a jti, not expired. MSAL Go encodes thumbprints
// with standard base64, the page says base64url: both are taken. It
// returns the AADSTS error for a bad one.
func (s *Server) checkAssertion(raw, endpoint string) (string, error) {
	s.mu.Lock()
	certs := append([]*x509.Certificate(nil), s.certs...)
	s.mu.Unlock()
	var used *x509.Certificate
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		x5t, _ := t.Header["x5t"].(string)
		s256, _ := t.Header["x5t#S256"].(string)
		for _, c := range certs {
			sum1, sum256 := sha1.Sum(c.Raw), sha256.Sum256(c.Raw)
			if x5t != "" && thumbprintIs(x5t, sum1[:]) || s256 != "" && thumbprintIs(s256, sum256[:]) {
				used = c
				return c.PublicKey, nil
			}
		}
		return nil, errors.New("unknown x5t")
	}, jwt.WithValidMethods([]string{"RS256", "PS256"}), jwt.WithAudience(endpoint), jwt.WithIssuer(s.AppID),
		jwt.WithSubject(s.AppID), jwt.WithExpirationRequired(), jwt.WithLeeway(5*time.Minute))
	switch {
	case used == nil:
		return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.", errors.New("unknown certificate")
	case err != nil:
		return "AADSTS700027: Client assertion failed signature validation or is malformed.", err
	case claims["jti"] == nil:
		return "AADSTS700023: Client assertion contains an invalid jti.", errors.New("no jti")
	}
	return "", nil
}

// thumbprintIs reports whether enc is sum in base64 or base64url, padded
// or not.
func thumbprintIs(enc string, sum []byte) bool {
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if e.EncodeToString(sum) == enc {
			return true
		}
	}
	return false
}
