// Package dashboard is the refx dashboard: one HTML page, a stylesheet and a
// script, embedded in the binary and served by the API's own handler at
// /dashboard, locally and behind API Gateway alike.
//
// The page holds no data and needs no key: it asks for the admin key once,
// keeps it in the tab's sessionStorage (never in a URL), and calls the admin
// API with it as a bearer token. Asset URLs carry a hash of their content,
// so they are cached for good and a new build is never mixed with an old
// one; the page itself is revalidated on every load.
//
// The script uses no framework and no third-party code. Charts are SVG
// documents rendered by the API (pkg/charts), inlined into the page.
//
// An experiment's page opens with its decision: a sentence per comparison
// of each primary metric with its interval (labelled with its level and
// adjustment), the guardrails, the sample ratio check and the progress
// towards the planned sample (from the results' additional_units_per_arm)
// with an ETA (from the enrolment rate since the start). The metrics follow,
// grouped by role. The page reads its results again every 30 s while the tab
// is shown, replacing them in place so that the scroll position, open
// details and charts stay. On a phone (≤ 430 px) each results row is a card
// with the decision first.
//
// Feature flags are shown read-only (#/flags): the list from GET /v1/flags,
// filtered in the page, and each flag's rules per environment with the
// segments (GET /v1/segments) and linked experiments they name. Every
// string from the API is user input and becomes a text node, never markup.
//
// Governance: the page asks GET /v1/me who its key is and shows only the
// actions that role may use (the API still decides; its refusals are shown
// in its words). The experiment log (#/log) lists every experiment with its
// status, owner, primary metric, dates and decision; an experiment's page
// shows its lifecycle as a stepper, and its review (the brief and GET
// …/health), conclusion (the form, then the results frozen with it: GET
// …/conclusion) and history (GET /v1/audit, a field-level diff per change).
package dashboard
