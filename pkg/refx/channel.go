package refx

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Channels a referral link is shared through, as /r/{code}?channel= (or
// else utm_source) names them. Counters are kept per channel, so the set
// is closed: anything else counts as ChannelOther, a link opened without
// either parameter as ChannelDirect, and a signup whose click is not
// known (no visitor id) as ChannelUnknown.
var Channels = []string{
	"email", "sms", "whatsapp", "messenger", "telegram", "facebook", "instagram",
	"x", "linkedin", "tiktok", "reddit", "copy", "qr", "web",
	ChannelDirect, ChannelOther, ChannelUnknown,
}

const (
	ChannelDirect  = "direct"
	ChannelOther   = "other"
	ChannelUnknown = "unknown"
)

// channelAliases maps common spellings onto Channels.
var channelAliases = map[string]string{
	"mail": "email", "e-mail": "email", "newsletter": "email", "text": "sms", "imessage": "sms",
	"wa": "whatsapp", "fb": "facebook", "ig": "instagram", "twitter": "x", "t.co": "x",
	"li": "linkedin", "link": "copy", "clipboard": "copy", "qrcode": "qr", "qr-code": "qr",
	"website": "web", "blog": "web",
}

// NormalizeChannel returns the channel a click came through: channel if
// given, else utm_source, folded to lower case and onto Channels.
func NormalizeChannel(channel, utmSource string) string {
	s := channel
	if s == "" {
		s = utmSource
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return ChannelDirect
	}
	if a, ok := channelAliases[s]; ok {
		return a
	}
	for _, c := range Channels {
		if s == c && c != ChannelUnknown {
			return c
		}
	}
	return ChannelOther
}

// MaxUTMLength bounds a recorded utm_* value.
const MaxUTMLength = 64

// CleanUTM returns v when it is a value worth recording, at most
// MaxUTMLength bytes of printable UTF-8, else "": a visitor following a
// link never gets an error, so bad values are dropped, not refused.
func CleanUTM(v string) string {
	if len(v) > MaxUTMLength || !utf8.ValidString(v) {
		return ""
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return ""
		}
	}
	return v
}

// UTM is a click's campaign parameters, as cleaned by CleanUTM.
type UTM struct {
	Source   string `json:"utm_source,omitempty"`
	Medium   string `json:"utm_medium,omitempty"`
	Campaign string `json:"utm_campaign,omitempty"`
}

// ChannelCounts are a variant's or a code's referral funnel through one
// channel.
type ChannelCounts struct {
	Clicks      int64 `json:"clicks"`
	Signups     int64 `json:"signups"`
	Conversions int64 `json:"conversions"`
	// Value is the referees' conversion value through the channel.
	Value json.Number `json:"value"`
}
