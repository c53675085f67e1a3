"""Judges whether each signature of a PDF will still validate years from now, offline.

pyHanko's simulation of a future PAdES validation (ETSI EN 319 102-1, 5.6.3): every object in
the file is taken to be proven to exist now, then each signature is validated at a time YEARS
ahead, with online fetching disabled and a CRL required for every end-entity certificate, so it
passes only if the file carries its own validation data (the Document Security Store) and
timestamps. Prints one line per signature: the field name and the AdES result, e.g.
"signq-1 AdESPassed.OK".

Usage: python pades-lt.py CA.pem FILE.pdf YEARS
"""

import asyncio
import logging
import sys
from datetime import datetime, timedelta, timezone

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.ades import simulate_future_ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager


def spec(ca_path):
    ca = load_cert_from_pemder(ca_path)
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[ca]),
        revinfo_policy=CertRevTrustPolicy(
            RevocationCheckingPolicy(
                ee_certificate_rule=RevocationCheckingRule.CRL_REQUIRED,
                intermediate_ca_cert_rule=RevocationCheckingRule.NO_CHECK,
            )
        ),
    )
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )


async def main(ca_path, pdf_path, years):
    # pyHanko logs the attempts that precede a past validation; only the verdicts matter here.
    logging.disable(logging.CRITICAL)
    when = datetime.now(timezone.utc) + timedelta(days=365.25 * years)
    with open(pdf_path, "rb") as f:
        reader = PdfFileReader(f)
        for sig in reader.embedded_signatures:
            result = await simulate_future_ades_lta_validation(sig, spec(ca_path), when)
            print(sig.field_name, result.ades_subindic)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
