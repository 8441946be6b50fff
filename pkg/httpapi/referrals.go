package httpapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

// VisitorCookie holds the anonymous visitor id a referral link sets, so that
// a click counts once per visitor and a later signup finds its click.
const VisitorCookie = "refx_vid"

// ReferralRequest is the body of POST /v1/referrals.
type ReferralRequest struct {
	Experiment string `json:"experiment"`
	Referrer   string `json:"referrer"`
	// Code asks for a vanity code (refx.ValidateVanityCode).
	Code string `json:"code,omitempty"`
	// Device and Email are the referrer's, for the self-referral guards;
	// IP is the referrer's address as a calling backend saw it (secret
	// key only, like a signup's). Only their keyed hashes are stored.
	Device string `json:"device,omitempty"`
	Email  string `json:"email,omitempty"`
	IP     string `json:"ip,omitempty"`
}

// codeRequest is the request normalized and validated.
func (req ReferralRequest) codeRequest(now time.Time) (refx.CodeRequest, error) {
	cr := refx.CodeRequest{Experiment: req.Experiment, Referrer: req.Referrer, Code: req.Code}
	cr.Normalize()
	if err := cr.Validate(now); err != nil {
		return cr, err
	}
	return cr, validateGuardInput(req.Device, req.Email, req.IP)
}

// validateGuardInput checks what a link request or a signup gives the
// self-referral guards; email is normalized (refx.NormalizeEmail) first.
func validateGuardInput(device, email, ip string) error {
	switch {
	case len(device) > 512:
		return refx.FieldErrorf("device", "must be at most 512 bytes")
	case email != "" && !refx.ValidEmail(refx.NormalizeEmail(email)):
		return refx.FieldErrorf("email", "must be an e-mail address")
	case ip != "" && net.ParseIP(ip) == nil:
		return refx.FieldErrorf("ip", "must be an IPv4 or IPv6 address")
	}
	return nil
}

// createReferral stores, with a new code, the hashes of the referrer's
// address, device and e-mail, which the self-referral guards compare with
// a signup's. A device or e-mail is taken from any caller: a false one only
// weakens the guard against the caller's own signups.
func (s *Server) createReferral(w http.ResponseWriter, r *http.Request) error {
	var req ReferralRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	cr, err := req.codeRequest(s.now())
	if err != nil {
		return err
	}
	ip, err := guardAddress(r, req.IP)
	if err != nil {
		return err
	}
	if ip != "" {
		cr.IPHash = s.hash("ip", ip)
	}
	if req.Device != "" {
		cr.DeviceHash = s.hash("device", req.Device)
	}
	if req.Email != "" {
		cr.EmailHash = s.hash("email", refx.NormalizeEmail(req.Email))
	}
	link, err := s.Referrals.CreateCode(r.Context(), cr)
	if err != nil {
		return err
	}
	link.URL = s.publicURL(r) + "/r/" + link.Code
	writeJSON(w, http.StatusOK, link)
	return nil
}

func referralCode(r *http.Request) (string, error) {
	code := refx.NormalizeCode(r.PathValue("code"))
	if !refx.ValidCode(code) {
		return "", refx.FieldErrorf("code", "must be a referral code")
	}
	return code, nil
}

func (s *Server) codeInfo(w http.ResponseWriter, r *http.Request) error {
	code, err := referralCode(r)
	if err != nil {
		writeJSON(w, http.StatusOK, refx.CodeInfo{Code: r.PathValue("code")})
		return nil
	}
	info, err := s.Referrals.Code(r.Context(), code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// followLink records the click and redirects. A visitor never sees an error:
// an unknown or expired code, or a store outage, still redirects (to the
// fallback, or to the landing page without counting). Targets come only from
// configuration, so the link cannot be turned into an open redirect.
func (s *Server) followLink(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	location := s.fallbackURL(r)
	ipHash := s.clientHash(r, "ip")
	if ok, _ := s.trust().byIP.allow("ip:" + ipHash); !ok {
		// A flood of clicks from one address is not counted, but the
		// visitor still lands where the link leads.
		s.metric(r.Context(), MetricRateLimited, 1)
	} else if code, err := referralCode(r); err == nil {
		visitor := s.visitor(w, r)
		q := r.URL.Query()
		res, err := s.Referrals.RecordClick(r.Context(), refx.Click{
			Code: code, Visitor: visitor, IPHash: ipHash,
			Channel: refx.NormalizeChannel(q.Get("channel"), q.Get("utm_source")),
			UTM:     refx.UTM{Source: refx.CleanUTM(q.Get("utm_source")), Medium: refx.CleanUTM(q.Get("utm_medium")), Campaign: refx.CleanUTM(q.Get("utm_campaign"))},
		})
		if err != nil {
			logger(r.Context()).ErrorContext(r.Context(), "click not recorded; the visitor is redirected anyway", "code", code, "err", err)
		}
		if res != nil && res.Location != "" {
			location = res.Location
		}
	}
	http.Redirect(w, r, location, http.StatusFound)
}

// visitor returns the request's visitor id, setting a new one when absent.
func (s *Server) visitor(w http.ResponseWriter, r *http.Request) string {
	if id := visitorCookie(r); id != "" {
		return id
	}
	var b [16]byte
	rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	cookie := &http.Cookie{
		Name: VisitorCookie, Value: id, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
	if isHTTPS(r) {
		// Landing pages call the API cross-site; only SameSite=None
		// cookies travel with those requests, and they must be Secure.
		cookie.Secure, cookie.SameSite = true, http.SameSiteNoneMode
	}
	http.SetCookie(w, cookie)
	return id
}

// visitorCookie is the request's valid visitor id, or "".
func visitorCookie(r *http.Request) string {
	if c, err := r.Cookie(VisitorCookie); err == nil && refx.ValidVisitor(c.Value) {
		return c.Value
	}
	return ""
}

// SignupRequest is the body of POST /v1/referrals/{code}/signups.
type SignupRequest struct {
	Referee string `json:"referee"`
	Visitor string `json:"visitor"`
	Device  string `json:"device"`
	// IP is the referee's address as a calling backend saw it; a backend's
	// own address says nothing about the referee.
	IP string `json:"ip"`
	// Email is the referee's: equal to the referrer's, the signup is
	// refused as a self-referral. Only its keyed hash is compared.
	Email string `json:"email"`
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	code, err := referralCode(r)
	if err != nil {
		return err
	}
	var req SignupRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := validateGuardInput(req.Device, req.Email, req.IP); err != nil {
		return err
	}
	res, err := s.attribute(r, code, req.Referee, req.Visitor, req.Device, req.IP, req.Email)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// attribute validates and runs a signup through a code. The visitor comes
// from the body or else from the link's cookie. The guard data is the
// caller's only when the caller is a customer's backend (a secret key):
// then the referee's address and device are what it passes, and a signup
// without an address is flagged, never let through unguarded. Anyone else
// is the referee's own browser or app, whose connection address is used,
// and who may not claim another. Addresses and devices are hashed with the
// server's key (and the previous key, to find older markers) before they
// go anywhere, so raw values are never stored. An e-mail address is taken
// from any caller: leaving it out is all a referee could do to dodge it.
func (s *Server) attribute(r *http.Request, code, referee, visitor, device, ip, email string) (*refx.AttributionResult, error) {
	if visitor == "" {
		visitor = visitorCookie(r)
	}
	sig := refx.Signup{Code: code, Referee: refx.NormalizeUser(referee), Visitor: visitor, Device: device}
	if err := sig.Validate(); err != nil {
		return nil, err
	}
	ip, err := guardAddress(r, ip)
	if err != nil {
		return nil, err
	}
	if device != "" && !callerOf(r.Context()).trusted() {
		return nil, &refx.Error{Code: refx.EFORBIDDEN, Field: "device", Message: "a device fingerprint is accepted from a secret key only"}
	}
	if ip != "" {
		sig.IPHash, sig.PreviousIPHash = s.hashes("ip", ip)
	}
	if device != "" {
		sig.Device, sig.PreviousDevice = s.hashes("device", device)
	}
	if email != "" {
		sig.EmailHash, sig.PreviousEmailHash = s.hashes("email", refx.NormalizeEmail(email))
	}
	return s.Referrals.Attribute(r.Context(), sig)
}

// guardAddress is the address the guards hash for a link request or a
// signup: a secret key's caller is a backend, whose own address says
// nothing about its user, so it is the ip the backend passes (or none);
// anyone else is the user's own browser or app, whose connection address
// is used and who may not claim another.
func guardAddress(r *http.Request, ip string) (string, error) {
	if callerOf(r.Context()).trusted() {
		return ip, nil
	}
	if ip != "" {
		return "", &refx.Error{Code: refx.EFORBIDDEN, Field: "ip", Message: "an ip is accepted from a secret key only: a browser's own address is used"}
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	return host, nil
}

func (s *Server) referrerReferrals(w http.ResponseWriter, r *http.Request) error {
	user := refx.NormalizeUser(r.PathValue("user"))
	if !refx.ValidUser(user) {
		return refx.InvalidUser("user")
	}
	q := r.URL.Query()
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	page, err := s.Referrals.Referrals(r.Context(), user, limit, q.Get("cursor"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// expiredPage is where unknown and expired links lead unless a fallback URL
// is configured: a plain page, never an error.
func (s *Server) expiredPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(`<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
		`<title>Invitation</title><body style="font:18px system-ui;max-width:32em;margin:4em auto;padding:0 1em">` +
		`<h1>This invitation has ended</h1><p>The link you followed is no longer active. You can still visit us and sign up.</p></body>`))
}

func (s *Server) fallbackURL(r *http.Request) string {
	if s.FallbackURL != "" {
		return s.FallbackURL
	}
	return "/r"
}

// publicURL is the base of referral links: configured, or else the URL the
// request came to.
func (s *Server) publicURL(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	scheme := "http"
	if isHTTPS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// clientHash is the keyed hash of the client's IP address. Behind API
// Gateway the address is the gateway's sourceIp; forwarded headers are not
// trusted, since clients can forge them.
func (s *Server) clientHash(r *http.Request, kind string) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || host == "" {
		return ""
	}
	return s.hash(kind, host)
}

func (s *Server) hash(kind, value string) string { return keyedHash(s.HashKey, kind, value) }

// hashes is the value's hash with the current key, and with the previous
// key while one is configured (PreviousHashKey).
func (s *Server) hashes(kind, value string) (current, previous string) {
	current = s.hash(kind, value)
	if len(s.PreviousHashKey) > 0 {
		previous = keyedHash(s.PreviousHashKey, kind, value)
	}
	return current, previous
}

func keyedHash(key []byte, kind, value string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(kind + ":" + value))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}
