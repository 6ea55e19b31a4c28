// Validates Kubernetes objects (a JSON array on stdin) against the OpenAPI schemas that the npm
// packages kubernetes-models and @kubernetes-models/prometheus-operator compile; prints one line
// per object, "ok KIND/NAME" or "bad KIND/NAME: errors", and exits 1 when any is bad.
import { readFileSync, existsSync } from "node:fs";
import { pathToFileURL } from "node:url";

const root = process.argv[2] + "/node_modules";
const docs = JSON.parse(readFileSync(0, "utf8"));
let bad = 0;
for (const d of docs) {
  const [group, version] = d.apiVersion.includes("/") ? d.apiVersion.split("/") : ["", d.apiVersion];
  const pkg = group === "monitoring.coreos.com" ? "@kubernetes-models/prometheus-operator/" + group
    : "kubernetes-models" + (group ? "/" + group : "");
  const file = `${root}/${pkg}/${version}/${d.kind}.js`;
  const id = `${d.kind}/${(d.metadata || {}).name}`;
  if (!existsSync(file)) {
    console.log(`bad ${id}: no schema for ${d.apiVersion} ${d.kind}`);
    bad++;
    continue;
  }
  const mod = await import(pathToFileURL(file).href);
  try {
    new mod[d.kind](d).validate();
    console.log(`ok ${id}`);
  } catch (e) {
    console.log(`bad ${id}: ${e.message}`);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
