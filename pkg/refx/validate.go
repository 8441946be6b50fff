package refx

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits on identifiers. Keys end up inside DynamoDB keys joined by '#', so
// the charsets exclude it.
const (
	MaxSlugLen = 64
	MaxUserLen = 256
)

// ValidSlug reports whether s is an experiment id: 1–64 characters of
// lowercase letters, digits, '-' and '_', starting with a letter or digit.
func ValidSlug(s string) bool {
	if s == "" || len(s) > MaxSlugLen || !isLowerAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// ValidKey reports whether s is a variant, goal or event-type key: 1–64
// characters of letters, digits, '-', '_' and '.', starting with a letter or
// digit.
func ValidKey(s string) bool {
	if s == "" || len(s) > MaxSlugLen || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// ValidUser reports whether s is a user id: 1–256 bytes of valid UTF-8 in
// Normalization Form C (NormalizeUser) without control or format
// characters (idChar). Lamed names and key names are held to it too.
func ValidUser(s string) bool {
	if s == "" || len(s) > MaxUserLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !idChar(r) {
			return false
		}
	}
	// Last: a handler that forgot NormalizeUser gets a refusal here
	// instead of storing a second spelling of someone.
	return norm.NFC.IsNormalString(s)
}

// NormalizeUser returns the canonical spelling of a user id: Unicode
// Normalization Form C, so that "é" typed as one code point and as "e" plus
// a combining accent is one user. Every user id a request carries goes
// through it before validation, hashing or storage.
func NormalizeUser(s string) string { return norm.NFC.String(s) }

// idChar reports whether r may appear in an id. Control characters (Cc)
// and format characters (Cf) are invisible: bidi overrides (U+202A–U+202E,
// U+2066–U+2069, U+200E, U+200F, U+061C) make an id display as another one
// in the dashboard and in exports, and zero-width spaces, the BOM, soft
// hyphens and tag characters make two ids that look equal differ. ZWNJ and
// ZWJ (U+200C, U+200D) are the exception: they are part of the correct
// spelling of words in Persian and Indic scripts and of emoji sequences, so
// refusing them would refuse real names.
func idChar(r rune) bool {
	switch {
	case r == '\u200c' || r == '\u200d':
		return true
	case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
		return false
	}
	return true
}

// InvalidUser is the error about a field that fails ValidUser.
func InvalidUser(field string) *Error {
	return FieldErrorf(field, "must be 1-%d bytes of text without control or format characters", MaxUserLen)
}

// ValidUUID reports whether s is a UUID in canonical 8-4-4-4-12 hex form.
func ValidUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }
func isAlnum(c byte) bool      { return isLowerAlnum(c) || 'A' <= c && c <= 'Z' }
func isHex(c byte) bool        { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
