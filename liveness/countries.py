"""Country codes of ID documents: ISO 3166-1 (from ``pycountry``, which follows the standard's updates) plus the
codes ICAO Doc 9303 adds for travel documents, stored in the three-letter form printed in a document's MRZ.

Accepted input: alpha-2 (``DE``), alpha-3 (``DEU``) or numeric (``276``), any case, surrounding spaces ignored;
ICAO's own codes (``UTO`` for the specimen state Utopia, ``D`` for Germany, the British nationality codes,
the United Nations, ``EUE`` and the stateless/refugee ``XX?`` codes) are accepted as printed.
Everything is stored and sent to vendors as the ICAO/ISO alpha-3 code (``D`` becomes ``DEU``).
"""

from __future__ import annotations

import pycountry

#: ICAO Doc 9303 Part 3 codes that are not ISO 3166-1 alpha-3 (issuing states and organisations).
ICAO_EXTRA_CODES = {
    "D": "DEU",  # Germany writes D in the MRZ
    "UTO": "UTO",  # Utopia: ICAO's specimen state
    "GBD": "GBD",
    "GBN": "GBN",
    "GBO": "GBO",
    "GBP": "GBP",
    "GBS": "GBS",
    "UNO": "UNO",
    "UNA": "UNA",
    "UNK": "UNK",
    "EUE": "EUE",
    "XBA": "XBA",
    "XIM": "XIM",
    "XCC": "XCC",
    "XCE": "XCE",
    "XCO": "XCO",
    "XEC": "XEC",
    "XPO": "XPO",
    "XES": "XES",
    "XMP": "XMP",
    "XOM": "XOM",
    "XDC": "XDC",
    "XXA": "XXA",
    "XXB": "XXB",
    "XXC": "XXC",
    "XXX": "XXX",
    "RKS": "RKS",  # Kosovo, as ICAO lists it
}


class UnknownCountry(ValueError):
    pass


def normalise_country_code(value: str) -> str:
    """The alpha-3 code for ``value``, or UnknownCountry saying what is accepted."""
    code = value.strip().upper()
    if code in ICAO_EXTRA_CODES:
        return ICAO_EXTRA_CODES[code]
    country = None
    if code.isascii() and code.isalpha() and len(code) == 2:
        country = pycountry.countries.get(alpha_2=code)
    elif code.isascii() and code.isalpha() and len(code) == 3:
        country = pycountry.countries.get(alpha_3=code)
    elif code.isascii() and code.isdigit() and len(code) == 3:
        country = pycountry.countries.get(numeric=code)
    if country is None:
        raise UnknownCountry(
            f"{value.strip()[:20]!r} is not an ISO 3166-1 country code (alpha-2 such as DE, alpha-3 such as DEU, "
            "or numeric such as 276) nor an ICAO document code such as UTO"
        )
    return str(country.alpha_3)
