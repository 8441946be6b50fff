// Runs scenarios through the real GrowthBook JavaScript SDK for
// TestSDKParity, which runs the same ones through refx's evaluator.
//
//   node sdk-parity.js SDK_DIR < scenarios.json
//
// A scenario is {attributes, features, feature, sticky, docs} (evaluate the
// feature, with a sticky bucket service holding docs when sticky is true) or
// {attributes, experiment} (gb.run of an inline experiment). Prints one
// result per scenario: {value, inExperiment, hashUsed, variationId,
// stickyBucketUsed, source, docs}.
"use strict";

const [sdkDir] = process.argv.slice(2);
const { GrowthBook } = require(sdkDir);

// The documents are handed to the SDK already loaded; the service only
// exists so that the SDK saves what it assigns.
const service = {
  getAllAssignments: async () => ({}),
  getAssignments: async () => null,
  saveAssignments: async () => {},
};

function run(s) {
  const gb = new GrowthBook({
    attributes: s.attributes,
    features: s.features || {},
    ...(s.sticky
      ? {
          stickyBucketService: service,
          stickyBucketAssignmentDocs: JSON.parse(JSON.stringify(s.docs || {})),
        }
      : {}),
  });
  let out;
  if (s.experiment) {
    const r = gb.run(s.experiment);
    out = {
      value: r.value,
      inExperiment: r.inExperiment,
      hashUsed: r.hashUsed,
      variationId: r.variationId,
      stickyBucketUsed: r.stickyBucketUsed,
    };
  } else {
    const res = gb.evalFeature(s.feature);
    const r = res.experimentResult;
    out = {
      value: res.value,
      source: res.source,
      inExperiment: !!(r && r.inExperiment),
      hashUsed: !!(r && r.hashUsed),
      variationId: r ? r.variationId : 0,
      stickyBucketUsed: !!(r && r.stickyBucketUsed),
    };
    if (s.sticky) out.docs = gb.getStickyBucketAssignmentDocs();
  }
  gb.destroy();
  return out;
}

const scenarios = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(scenarios.map(run)));
