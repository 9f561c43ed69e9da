// English and German, complete: tests/web/test_contract_and_i18n.py fails on a key missing in either.
// The language follows the profile once signed in, else the browser.
import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import de from "./de.json";
import en from "./en.json";

export const LANGUAGES = ["en", "de"] as const;
export type Language = (typeof LANGUAGES)[number];

export function browserLanguage(): Language {
  const wanted = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const tag of wanted) {
    const base = tag.toLowerCase().split("-")[0];
    if (base === "de" || base === "en") return base;
  }
  return "en";
}

export function useLanguage(language: string | null | undefined): void {
  const next = language === "de" || language === "en" ? language : browserLanguage();
  if (i18n.language !== next) void i18n.changeLanguage(next);
  document.documentElement.lang = next;
}

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, de: { translation: de } },
  lng: browserLanguage(),
  fallbackLng: false,
  interpolation: { escapeValue: false },
  returnNull: false,
});
document.documentElement.lang = i18n.language;

export default i18n;
