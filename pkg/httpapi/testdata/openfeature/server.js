// Evaluates flags with the real OpenFeature server SDK and its OFREP
// provider (npm @openfeature/server-sdk, @openfeature/ofrep-provider),
// asking refx as the provider asks any OFREP service. Used by
// TestOpenFeatureServerSDK.
//
//   node server.js NODE_MODULES BASE_URL SECRET_KEY < steps.json
//
// steps.json is [{"context": {...}, "reads": [{"flag", "type", "default"}]}]
// with type one of boolean, string, number, object. Prints, per step and
// read, the SDK's evaluation details (flagKey, value, variant, reason,
// errorCode, errorMessage, flagMetadata) as JSON.
"use strict";

const path = require("path");
const [modules, baseUrl, key] = process.argv.slice(2);
const { OpenFeature } = require(path.join(modules, "@openfeature/server-sdk"));
const { OFREPProvider } = require(path.join(modules, "@openfeature/ofrep-provider"));

const getters = {
  boolean: "getBooleanDetails",
  string: "getStringDetails",
  number: "getNumberDetails",
  object: "getObjectDetails",
};

async function main() {
  const steps = JSON.parse(require("fs").readFileSync(0, "utf8"));
  await OpenFeature.setProviderAndWait(
    new OFREPProvider({ baseUrl, headers: [["Authorization", "Bearer " + key]] }),
  );
  const client = OpenFeature.getClient();
  // The details carry an error's code and message only; refx's answer to a
  // failed request goes to stderr, which the test shows when it fails.
  client.addHooks({
    error: async (hookContext, err) => {
      let answer = "";
      if (err && err.response) {
        answer = "HTTP " + err.response.status + " " + (await err.response.text().catch(() => ""));
      }
      console.error(hookContext.flagKey + ": " + (err && err.name) + " " + (err && err.message) + " " + answer);
    },
  });
  const out = [];
  for (const step of steps) {
    const details = [];
    for (const read of step.reads) {
      const get = getters[read.type];
      if (!get) throw new Error("unknown type " + read.type);
      details.push(await client[get](read.flag, read.default, step.context));
    }
    out.push(details);
  }
  await OpenFeature.close();
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
