// The console's words, in their own i18next namespace ("admin") so they travel with the
// console's chunks, not with the app every employee loads. English and German complete:
// tests/web/test_contract_and_i18n.py fails on a key missing in either.
import i18n from "../../i18n";
import de from "./admin.de.json";
import en from "./admin.en.json";

export const NS = "admin";

i18n.addResourceBundle("en", NS, en, true, true);
i18n.addResourceBundle("de", NS, de, true, true);
