// Package headless drives a headless Chromium through the Chrome DevTools
// Protocol, for the browser tests of refx.js and the demo. It speaks CDP over
// --remote-debugging-pipe (NUL-separated JSON on file descriptors 3 and 4),
// which needs neither a websocket library nor a free port, and covers only
// what the tests use: pages, navigation, script evaluation, clicks and
// screenshots.
//
// Chromium comes from the system (chromium, chromium-browser, google-chrome,
// or REFX_CHROMIUM); when none is found, Find runs scripts/install-chromium.
package headless
