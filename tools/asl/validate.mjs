// validate.mjs FILE...: checks state machine definitions with asl-validator.
//
// A FILE is either a plain definition (statemachine/*.asl.json, where SAM's
// ${Name} substitutions are replaced by placeholder values first) or a
// conformance case ({"name", "definition", ...}). A case whose expected result
// is {"invalid": true} must be rejected; every other definition must be
// accepted (an invalid case marked "deviation" is skipped). Exits 1 when any file does not meet that, 2 on a read error.
import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';

// substitute replaces ${Name} the way SAM's DefinitionSubstitutions would,
// with a plausible value: an ARN for names ending in Arn, else the name.
function substitute(text) {
  return text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name) =>
    name.endsWith('Arn') ? `arn:aws:lambda:us-east-1:123456789012:function:${name.slice(0, -3)}` : name,
  );
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: validate.mjs FILE...');
  process.exit(2);
}
let bad = 0;
for (const file of files) {
  let doc;
  try {
    doc = JSON.parse(substitute(readFileSync(file, 'utf8')));
  } catch (err) {
    console.error(`${file}: cannot read: ${err.message}`);
    process.exit(2);
  }
  const isCase = doc && typeof doc === 'object' && 'definition' in doc && !('StartAt' in doc);
  const definition = isCase ? doc.definition : doc;
  const wantInvalid = isCase && doc.expected?.invalid === true;
  // An invalid case marked "deviation" is one the specification forbids but
  // asl-validator is known to accept: only our own Parse is held to it.
  if (wantInvalid && doc.deviation) {
    console.log(`SKIP ${file} (invalid by the specification, not checked by asl-validator: ${doc.why})`);
    continue;
  }
  const { isValid, errors } = aslValidator(definition);
  const text = (errors ?? []).map((e) => `${e['Error code'] ?? ''}${e.Message ? ': ' + e.Message : ''}`).join('; ');
  if (wantInvalid) {
    if (isValid) {
      bad++;
      console.log(`FAIL ${file}: expected invalid, but asl-validator accepts it`);
    } else {
      console.log(`OK   ${file} (rejected as expected: ${text})`);
    }
  } else if (isValid) {
    console.log(`OK   ${file}`);
  } else {
    bad++;
    console.log(`FAIL ${file}: ${text}`);
  }
}
console.log(`${files.length - bad} valid as expected, ${bad} not`);
process.exit(bad ? 1 : 0);
