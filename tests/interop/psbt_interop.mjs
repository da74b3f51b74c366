// An independent implementation (@scure/btc-signer) reads krayd's bridge
// PSBT (from the fixture binary given as argv[2]) and must agree with krayd:
// every input is a taproot script-path spend of the 2-of-3 leaf with its
// witness UTXO and the three keys' origins, two signatures are present, and
// its finalizer produces byte for byte the transaction krayd's does.
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import * as btc from '@scure/btc-signer';
import { base64, hex } from '@scure/base';

const fixture = JSON.parse(execFileSync(process.argv[2], { encoding: 'utf8' }));
const tx = btc.Transaction.fromPSBT(base64.decode(fixture.psbt), {
  allowUnknownOutputs: true, // the Runestone's OP_RETURN
});

assert.equal(tx.inputsLength, fixture.inputs.length, 'input count');
assert.equal(tx.outputsLength, fixture.outputs.length, 'output count');
for (let i = 0; i < tx.inputsLength; i++) {
  const input = tx.getInput(i);
  const want = fixture.inputs[i];
  assert.equal(hex.encode(input.witnessUtxo.script), want.script_hex, `input ${i} witness UTXO script`);
  assert.equal(input.witnessUtxo.amount, BigInt(want.value), `input ${i} witness UTXO amount`);
  assert.equal(input.tapLeafScript.length, 1, `input ${i}: one leaf`);
  const leaf = input.tapLeafScript[0][1];
  const decoded = btc.OutScript.decode(leaf.slice(0, -1));
  assert.equal(decoded.type, 'tr_ms', `input ${i}: a multi_a leaf`);
  assert.equal(decoded.m, 2, `input ${i}: threshold 2`);
  assert.equal(decoded.pubkeys.length, 3, `input ${i}: three keys`);
  assert.equal(input.tapBip32Derivation.length, 3, `input ${i}: three key origins`);
  assert.equal(input.tapScriptSig.length, 2, `input ${i}: two signatures`);
}
for (let i = 0; i < tx.outputsLength; i++) {
  const out = tx.getOutput(i);
  assert.equal(hex.encode(out.script), fixture.outputs[i].script_hex, `output ${i} script`);
  assert.equal(out.amount, BigInt(fixture.outputs[i].value), `output ${i} amount`);
}
tx.finalize();
assert.equal(tx.id, fixture.txid, 'txid');
assert.equal(tx.hex, fixture.final_tx_hex, 'the finalized transaction differs from krayd\'s');
console.log(`ok: @scure/btc-signer finalized krayd's 2-of-3 PSBT into ${tx.id} (${tx.inputsLength} inputs)`);
