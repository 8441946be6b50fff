package refx

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
)

// KeyKind says who holds an API key.
type KeyKind string

// Key kinds. A client key is public: it ships in web pages and apps, is
// bound to the origins allowed to use it, and its events are untrusted. A
// secret key stays on a customer's servers; only its events count for
// server-only goals, and only it may pass a referee's IP address and device.
// An admin key is a person's credential for the admin routes, with the
// role that says what it may do there; it opens no public route.
const (
	KeyClient KeyKind = "client"
	KeySecret KeyKind = "secret"
	KeyAdmin  KeyKind = "admin"
)

// Key limits.
const (
	MaxKeyOrigins = 20
	// keySecretBytes is the random part of a key: 256 bits.
	keySecretBytes = 32
)

// keyTokenPrefix starts every key of a kind, so that a leaked key is
// recognisable (secret scanners match on it) and a secret key pasted into a
// web page is visible as such.
var keyTokenPrefix = map[KeyKind]string{KeyClient: "rfx_pub_", KeySecret: "rfx_sec_", KeyAdmin: "rfx_adm_"}

// BootstrapActor is the holder of the admin key of the deployment's
// configuration: always an owner, so that a deployment can never lock
// itself out by demoting or revoking its admin keys.
var BootstrapActor = Actor{ID: "bootstrap", Name: "bootstrap admin key", Role: RoleOwner}

// APIKey is a client, secret or admin key, as listed: never the key itself, which
// is shown once at creation and stored only as a digest.
type APIKey struct {
	ID   string  `json:"id"`
	Name string  `json:"name"`
	Kind KeyKind `json:"kind"`
	// Role is what an admin key may do; other kinds have none.
	Role AdminRole `json:"role,omitempty"`
	// Origins are the browser origins a client key may be used from
	// ("https://shop.example"); "*" allows any. A secret key has none: it
	// is refused from every browser.
	Origins []string `json:"origins,omitempty"`
	// Environment is the flag environment the key reads (feature flags
	// are enabled per environment); public write routes take a key of any
	// environment. An admin key has none.
	Environment string `json:"environment,omitempty"`
	// Hint is the key's last four characters, to tell keys apart.
	Hint      string     `json:"hint"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Digest is the SHA-256 of the key, hex: what a presented key is
	// compared with. The key is 256 random bits, so an unsalted fast hash
	// is enough: there is nothing to guess.
	Digest string `json:"-"`
}

// Revoked reports whether the key no longer opens anything.
func (k *APIKey) Revoked() bool { return k.RevokedAt != nil }

// Actor is who makes the changes of a request sent with the key: the
// audit log names the key's id, kind and holder, and an admin key's role.
func (k *APIKey) Actor() Actor {
	prefix := map[KeyKind]string{KeyClient: "client:", KeySecret: "secret:", KeyAdmin: "admin:"}[k.Kind]
	return Actor{ID: prefix + k.ID, Name: k.Name, Role: k.Role}
}

// AllowsOrigin reports whether a browser on origin may use the key.
func (k *APIKey) AllowsOrigin(origin string) bool { return OriginAllowed(k.Origins, origin) }

// OriginAllowed reports whether a browser on origin is among allowed,
// origins as configured: scheme and host in any case, a trailing slash
// ignored, "*" for any. "null" is never allowed: sandboxed frames and
// local files send it, and any site can make one.
func OriginAllowed(allowed []string, origin string) bool {
	if origin == "" || origin == "null" {
		return false
	}
	origin = canonicalOrigin(origin)
	for _, o := range allowed {
		if o == "*" || canonicalOrigin(o) == origin {
			return true
		}
	}
	return false
}

// NewKey is the body of a key creation request.
type NewKey struct {
	// Name is what the key is for; for an admin key, the person holding
	// it.
	Name    string   `json:"name"`
	Kind    KeyKind  `json:"kind"`
	Origins []string `json:"origins"`
	// Role is required for an admin key and refused for the others.
	Role AdminRole `json:"role"`
	// Environment defaults to DefaultKeyEnvironment.
	Environment string `json:"environment"`
}

// DefaultKeyEnvironment is the environment of a key created without one.
const DefaultKeyEnvironment = "production"

// IssuedKey is a new key with its secret, shown once.
type IssuedKey struct {
	*APIKey
	Key string `json:"key"`
}

// Issue validates n and returns the key it describes, with its secret.
func (n NewKey) Issue(now time.Time) (*IssuedKey, error) {
	prefix, ok := keyTokenPrefix[n.Kind]
	switch {
	case !ok:
		return nil, FieldErrorf("kind", "must be %q, %q or %q", KeyClient, KeySecret, KeyAdmin)
	case n.Name == "" || len(n.Name) > MaxSlugLen*2 || !ValidUser(n.Name):
		return nil, FieldErrorf("name", "must be 1-%d bytes of text without control characters", MaxSlugLen*2)
	case n.Kind == KeySecret && len(n.Origins) > 0:
		return nil, FieldErrorf("origins", "a secret key is never used from a browser, so it has no origins")
	case n.Kind == KeyAdmin && !n.Role.Valid():
		return nil, ValidateAdminRole(n.Role)
	case n.Kind != KeyAdmin && n.Role != "":
		return nil, FieldErrorf("role", "only an admin key has a role")
	case n.Kind == KeyAdmin && len(n.Origins) > 0:
		return nil, FieldErrorf("origins", "an admin key is not bound to origins: it opens the admin routes only, with its role")
	case n.Kind == KeyAdmin && n.Environment != "":
		return nil, FieldErrorf("environment", "an admin key manages every environment, so it has none")
	case n.Environment != "" && !ValidSlug(n.Environment):
		return nil, FieldErrorf("environment", "must be 1-64 characters of a-z, 0-9, '-' or '_', like production")
	case n.Kind == KeyClient && (len(n.Origins) == 0 || len(n.Origins) > MaxKeyOrigins):
		return nil, FieldErrorf("origins", "a client key needs 1 to %d origins (like https://shop.example, or * for any)", MaxKeyOrigins)
	}
	origins := make([]string, 0, len(n.Origins))
	for _, o := range n.Origins {
		c, ok := validOrigin(o)
		if !ok {
			return nil, FieldErrorf("origins", "%q is not an origin: want scheme://host[:port], or *", o)
		}
		origins = append(origins, c)
	}
	id := newKeyID()
	var secret [keySecretBytes]byte
	rand.Read(secret[:])
	token := prefix + id + "_" + hex.EncodeToString(secret[:])
	if n.Environment == "" && n.Kind != KeyAdmin {
		n.Environment = DefaultKeyEnvironment
	}
	k := &APIKey{
		ID: id, Name: n.Name, Kind: n.Kind, Role: n.Role, Origins: origins, Environment: n.Environment,
		Hint: token[len(token)-4:], CreatedAt: now.UTC(), Digest: KeyDigest(token),
	}
	return &IssuedKey{APIKey: k, Key: token}, nil
}

// ValidateAdminRole returns nil for a role of AdminRoles, else an EINVALID
// error on the field "role" naming them.
func ValidateAdminRole(r AdminRole) error {
	if r.Valid() {
		return nil
	}
	names := make([]string, len(AdminRoles))
	for i, r := range AdminRoles {
		names[i] = string(r)
	}
	return FieldErrorf("role", "must be one of %s", strings.Join(names, ", "))
}

// KeyDigest is the digest a key is stored and compared as.
func KeyDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ParseKeyToken returns the kind and id a presented key claims; ok is false
// when it is not shaped like a refx key at all.
func ParseKeyToken(token string) (kind KeyKind, id string, ok bool) {
	for k, prefix := range keyTokenPrefix {
		rest, found := strings.CutPrefix(token, prefix)
		if !found {
			continue
		}
		id, secret, found := strings.Cut(rest, "_")
		if !found || !ValidKeyID(id) || len(secret) != 2*keySecretBytes {
			return "", "", false
		}
		return k, id, true
	}
	return "", "", false
}

// keyIDAlphabet is lower-case Crockford-style base32: no padding, no
// characters that look alike, nothing that needs escaping in a URL or a
// DynamoDB key.
const keyIDAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// keyIDLen gives 80 random bits: ids never collide in practice, and a
// collision would only fail the creation's condition.
const keyIDLen = 16

func newKeyID() string {
	var b [keyIDLen]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = keyIDAlphabet[b[i]&31]
	}
	return string(b[:])
}

// ValidKeyID reports whether s is shaped like a key id.
func ValidKeyID(s string) bool {
	if len(s) != keyIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(keyIDAlphabet, rune(s[i])) {
			return false
		}
	}
	return true
}

// validOrigin returns the canonical form of a configured origin.
func validOrigin(o string) (string, bool) {
	if o == "*" {
		return o, true
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	return canonicalOrigin(u.Scheme + "://" + u.Host), true
}

// canonicalOrigin compares origins as browsers send them: scheme and host
// are case-insensitive, and a configured trailing slash is not part of it.
func canonicalOrigin(o string) string { return strings.ToLower(strings.TrimRight(o, "/")) }

// KeyService stores API keys. Its writes record ctx's actor in the audit
// log (AuditKey), in the write's own transaction.
type KeyService interface {
	// CreateKey stores a new key. ECONFLICT if its id is taken.
	CreateKey(ctx context.Context, k *APIKey) error
	// Key returns one key, revoked or not. ENOTFOUND.
	Key(ctx context.Context, id string) (*APIKey, error)
	// Keys lists every key, newest first.
	Keys(ctx context.Context) ([]*APIKey, error)
	// RevokeKey revokes a key; revoking it again is a no-op. ENOTFOUND.
	RevokeKey(ctx context.Context, id string) (*APIKey, error)
	// SetKeyRole changes an admin key's role, on the condition that
	// neither its role nor its revocation changed since it was read, so
	// that concurrent changes cannot interleave; setting the role it has
	// is a no-op. ENOTFOUND; EINVALID for a role that is not one or a key
	// that is not an admin key; ECONFLICT for a revoked key or a
	// concurrent change.
	SetKeyRole(ctx context.Context, id string, role AdminRole) (*APIKey, error)
}
