package fakegraph

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// tokenKeyID is the key id written into access token headers. Graph
// access tokens are not meant to be validated by clients, and these are
// signed with random bytes, so it names no published key.
const tokenKeyID = "fgK3yJm9xq0c2bW5d8N1sT4vZaQ"

// tokenClaims is what an access token says about itself.
type tokenClaims struct {
	// audience is the aud claim, the resource the token is for.
	audience string
	tenantID string
	clientID string
	roles    []string
	issued   time.Time
	expires  time.Time
}

// newAccessToken returns an access token shaped like a Microsoft Entra
// v1.0 app-only token for Microsoft Graph or Exchange Online: a JWT whose
// payload carries the audience, the tenant, the client and the granted
// application permissions of that resource, and
// whose signature is random. The server recognizes its tokens by
// remembering them, not by checking the signature.
func newAccessToken(c tokenClaims) string {
	issuer := "https://sts.windows.net/" + c.tenantID + "/"
	sp := stableGUID(c.tenantID, "servicePrincipal", c.clientID)
	header := obj{{"typ", "JWT"}, {"nonce", randomB64(32)}, {"alg", "RS256"}, {"x5t", tokenKeyID}, {"kid", tokenKeyID}}
	payload := obj{
		{"aud", c.audience},
		{"iss", issuer},
		{"iat", c.issued.Unix()},
		{"nbf", c.issued.Unix()},
		{"exp", c.expires.Unix()},
		{"aio", randomB64(60)},
		{"app_displayname", appDisplayName},
		{"appid", c.clientID},
		{"appidacr", "1"},
		{"idp", issuer},
		{"idtyp", "app"},
		{"oid", sp},
		{"rh", "0." + randomB64(40) + "."},
	}
	if len(c.roles) > 0 {
		payload = append(payload, field{"roles", slices.Clone(c.roles)})
	}
	payload = append(payload,
		field{"sub", sp},
		field{"tenant_region_scope", "NA"},
		field{"tid", c.tenantID},
		field{"uti", randomB64(16)},
		field{"ver", "1.0"},
		field{"wids", []string{"0997a1d0-0d1d-4acb-b408-d5ca73121e90"}},
		field{"xms_tcdt", c.issued.Add(-365 * 24 * time.Hour).Unix()},
	)
	return segment(header) + "." + segment(payload) + "." + randomB64(256)
}

// segment encodes one JWT segment.
func segment(o obj) string {
	b, err := json.Marshal(o)
	if err != nil {
		panic(fmt.Errorf("token: %w", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomB64 returns n random bytes, base64url-encoded without padding.
func randomB64(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Errorf("token: %w", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
