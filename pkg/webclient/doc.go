// Package webclient holds refx.js, the browser client of refx, and serves
// it. The client is one hand-written, dependency-free source (refx.js,
// embedded) built into two files at start-up: a classic script setting
// window.refx and an ES module. Version is a hash of what is served.
package webclient
