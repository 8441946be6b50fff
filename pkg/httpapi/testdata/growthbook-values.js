// Evaluates a flag with the real GrowthBook JavaScript SDK for a list of
// user ids, loading the payload from refx as the SDK does from GrowthBook
// (GET {apiHost}/api/features/{clientKey}). Used by TestHoldoutFlags.
//
//   node growthbook-values.js SDK_DIR API_HOST CLIENT_KEY FLAG < users.json
//
// Prints {"source": ..., "values": {id: value}}.
"use strict";

const [sdkDir, apiHost, clientKey, flag] = process.argv.slice(2);
const { GrowthBook } = require(sdkDir);

async function main() {
  const users = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const gb = new GrowthBook({ apiHost, clientKey });
  const status = await gb.init({ timeout: 10000 });
  if (!status.success) {
    throw new Error("GrowthBook init failed: " + JSON.stringify(status));
  }
  const values = {};
  for (const id of users) {
    await gb.setAttributes({ id });
    values[id] = gb.evalFeature(flag).value;
  }
  gb.destroy();
  process.stdout.write(JSON.stringify({ source: status.source, values }));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
