package refx

import (
	"unicode"
	"unicode/utf8"
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

// ValidUser reports whether s is a user id: 1–256 bytes of valid UTF-8
// without control characters.
func ValidUser(s string) bool {
	if s == "" || len(s) > MaxUserLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// invalidUser is the error about a field that fails ValidUser.
func invalidUser(field string) *Error {
	return FieldErrorf(field, "must be 1-%d bytes of text without control characters", MaxUserLen)
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
