package teams

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The checks below follow bot-docs
// rest-api/bot-framework-rest-connector-authentication.md ("Connector to
// bot"), botbuilder-js jwtTokenExtractor.ts (endorsements) and Teams SDK
// v2 jwt-validator.ts (audiences, RS256 only, serviceurl normalisation).
// The doc says implementers should not expose a way to disable
// validation; there is none.

// DefaultOpenIDURL is the Bot Framework's OpenID metadata document.
const DefaultOpenIDURL = "https://login.botframework.com/v1/.well-known/openidconfiguration"

// issuer is the only issuer of tokens the Bot Framework sends bots.
const issuer = "https://api.botframework.com"

const (
	clockSkew    = 5 * time.Minute
	keysLifetime = 24 * time.Hour  // refresh at least daily
	refetchEvery = 1 * time.Minute // unknown kid: at most this often
)

var errUnauthorized = errors.New("unauthorized")

// signingKey is a published key and the channels it may sign for.
type signingKey struct {
	pub          *rsa.PublicKey
	endorsements []string
}

// keySet fetches and caches the signing keys named by the metadata.
type keySet struct {
	metaURL string
	client  *http.Client
	now     func() time.Time

	mu        sync.Mutex
	keys      map[string]signingKey
	fetched   time.Time
	lastTried time.Time
}

// key returns the key kid, fetching the keys when they are older than a
// day or kid is unknown (at most once a minute for unknown kids).
func (ks *keySet) key(ctx context.Context, kid string) (signingKey, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := ks.now()
	k, ok := ks.keys[kid]
	stale := now.Sub(ks.fetched) >= keysLifetime
	if ok && !stale {
		return k, nil
	}
	if !stale && now.Sub(ks.lastTried) < refetchEvery {
		return signingKey{}, fmt.Errorf("unknown key %q", kid)
	}
	ks.lastTried = now
	keys, err := ks.fetch(ctx)
	if err != nil {
		if ok {
			return k, nil // keep using a known key while the fetch fails
		}
		return signingKey{}, err
	}
	ks.keys, ks.fetched = keys, now
	if k, ok = keys[kid]; !ok {
		return signingKey{}, fmt.Errorf("unknown key %q", kid)
	}
	return k, nil
}

func (ks *keySet) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := ks.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

func (ks *keySet) fetch(ctx context.Context) (map[string]signingKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := ks.getJSON(ctx, ks.metaURL, &meta); err != nil {
		return nil, fmt.Errorf("openid metadata: %w", err)
	}
	if meta.JWKSURI == "" || !strings.HasPrefix(meta.JWKSURI, "https://") {
		return nil, errors.New("openid metadata: no https jwks_uri")
	}
	var set struct {
		Keys []struct {
			Kty, Kid, N, E string
			Endorsements   []string `json:"endorsements"`
		} `json:"keys"`
	}
	if err := ks.getJSON(ctx, meta.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	out := map[string]signingKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || k.Kid == "" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			continue
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		out[k.Kid] = signingKey{pub: pub, endorsements: k.Endorsements}
	}
	if len(out) == 0 {
		return nil, errors.New("signing keys: none usable")
	}
	return out, nil
}

// verifier checks the bearer token of an incoming activity.
type verifier struct {
	appID string
	keys  *keySet
	now   func() time.Time
}

// token is a bearer token whose signature, issuer, audience and lifetime
// were checked; what it says of the activity is checked by matches.
type token struct {
	serviceURL   string   // the serviceurl claim
	endorsements []string // of the key that signed it
}

// verify checks the Authorization header on its own: signature (RS256,
// a published key), issuer, audience, expiry. It needs nothing of the
// body, so that a request without a valid token is refused before its
// body is read. It returns why it refused, for the log (never the token).
func (v *verifier) verify(ctx context.Context, header string) (token, error) {
	raw, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || raw == "" {
		return token{}, fmt.Errorf("%w: no bearer token", errUnauthorized)
	}
	var key signingKey
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, err := v.keys.key(ctx, kid)
		if err != nil {
			return nil, err
		}
		key = k
		return k.pub, nil
	},
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(v.appID, "api://"+v.appID, "api://botid-"+v.appID),
		jwt.WithLeeway(clockSkew),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return token{}, fmt.Errorf("%w: %v", errUnauthorized, err)
	}
	su, _ := claims["serviceurl"].(string)
	if su == "" {
		return token{}, fmt.Errorf("%w: no serviceurl claim", errUnauthorized)
	}
	if len(key.endorsements) == 0 {
		return token{}, fmt.Errorf("%w: key has no endorsements", errUnauthorized)
	}
	return token{serviceURL: su, endorsements: key.endorsements}, nil
}

// matches checks the token against the activity: the serviceurl claim
// is its service URL, and the signing key is endorsed for its channel.
func (t token) matches(serviceURL, channelID string) error {
	if !sameServiceURL(t.serviceURL, serviceURL) {
		return fmt.Errorf("%w: serviceurl claim does not match the activity", errUnauthorized)
	}
	if !slices.Contains(t.endorsements, channelID) {
		return fmt.Errorf("%w: key not endorsed for channel %q", errUnauthorized, channelID)
	}
	return nil
}

// sameServiceURL compares service URLs case-insensitively, ignoring a
// trailing slash (as Teams SDK v2 does).
func sameServiceURL(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}
