/**
 * What happens on the virtual eUICC when the device loses connectivity (SGP.32 v1.2 §3.4 rollback via
 * ES10b.ProfileRollback, §3.6 fallback mechanism via ES10b.ExecuteFallbackMechanism, both triggered by the
 * IPA when the newly enabled profile cannot attach).
 */
import { EuiccPackageResult, EuiccPackageResultDataSigned, type EuiccResultData } from '../../asn1/euicc-package.js';
import { fromHex } from '../../asn1/hex.js';
import { decode, type Infer } from '../../asn1/schema.js';
import type { ConnectivityLossOutcome, VirtualEuicc } from './euicc.js';

/**
 * The device lost connectivity on the enabled profile. An enable marked with rollbackFlag whose
 * connectivity was not confirmed is rolled back (ES10b.ProfileRollback): the previous profile is enabled
 * again and the stored result of that package is replaced by one with rollbackResult ok appended (the
 * ProfileRollbackResponse's eUICCPackageResult). Otherwise, when a fallback profile exists and is not the
 * enabled one, the fallback mechanism enables it and the next poll carries stateChangeCause fallback.
 */
export function loseConnectivity(card: VirtualEuicc): ConnectivityLossOutcome {
  const rb = card.state.pendingRollback;
  if (rb !== undefined) {
    delete card.state.pendingRollback;
    const failed = card.profile(rb.enabledIccid);
    const previous = rb.previousIccid === undefined ? undefined : card.profile(rb.previousIccid);
    if (failed !== undefined && failed.state === 'enabled') {
      failed.state = 'disabled';
      card.notify('disable', failed);
      if (previous !== undefined) {
        previous.state = 'enabled';
        card.notify('enable', previous);
      }
      const old = card.state.packageResults.find((r) => r.seqNumber === rb.resultSeqNumber);
      let results: EuiccResultData[] = [];
      if (old !== undefined) {
        const decoded = decode(EuiccPackageResult, fromHex(old.der));
        if ('euiccPackageResultSigned' in decoded) results = decoded.euiccPackageResultSigned.euiccPackageResultDataSigned.euiccResult;
        card.state.packageResults = card.state.packageResults.filter((r) => r !== old);
      }
      const data: Infer<typeof EuiccPackageResultDataSigned> = {
        eimId: rb.eimId,
        counterValue: rb.counterValue,
        seqNumber: card.nextSeqNumber(),
        euiccResult: [...results, { rollbackResult: 'ok' }],
      };
      if (rb.eimTransactionId !== undefined) data.eimTransactionId = fromHex(rb.eimTransactionId);
      card.signPackageResult(data, card.associationTokenOf(rb.eimId));
      return 'rollback';
    }
  }
  const enabled = card.enabledProfile();
  const fallback = card.fallbackProfile();
  if (fallback === undefined || fallback === enabled) return 'none';
  if (enabled !== undefined) {
    enabled.state = 'disabled';
    card.notify('disable', enabled);
  }
  fallback.state = 'enabled';
  card.notify('enable', fallback);
  card.state.pendingStateChange = 'fallback';
  return 'fallback';
}
