// Evaluates a flag with the real GrowthBook JavaScript SDK for a list of
// users, loading the payload from refx as the SDK does from GrowthBook
// (GET {apiHost}/api/features/{clientKey}). Used by TestGrowthBookSDKParity,
// TestGrowthBookSDKParityAudience and TestHoldoutFlags.
//
//   node growthbook-parity.js SDK_DIR API_HOST CLIENT_KEY FLAG < users.json
//
// A user is an id, or the user's attributes with their id.
//
// Prints {"source": ..., "arms": {id: variationId | null}, "values": {id:
// value}}: an arm is null when the user is not in the experiment (the SDK
// then serves another rule or the default value); the value is the flag's.
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
  const arms = {};
  const values = {};
  for (const user of users) {
    const attributes = typeof user === "string" ? { id: user } : user;
    await gb.setAttributes(attributes);
    const res = gb.evalFeature(flag);
    const exp = res.experimentResult;
    arms[attributes.id] = exp && exp.inExperiment ? exp.variationId : null;
    values[attributes.id] = res.value;
  }
  gb.destroy();
  process.stdout.write(JSON.stringify({ source: status.source, arms, values }));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
