// Translations: one JSON file per language in ../i18n/ (flat keys), Chinese by default.
// The choice is kept in this browser (localStorage); t(key, vars) fills {name} placeholders.

export const LANGUAGES = ['zh', 'en'];
const SAVED = 'fieldwatch.language';

let strings = {};
let current = 'zh';

export function savedLanguage() {
  const saved = localStorage.getItem(SAVED);
  return LANGUAGES.includes(saved) ? saved : 'zh';
}

export async function loadLanguage(wanted) {
  const lang = LANGUAGES.includes(wanted) ? wanted : 'zh';
  const response = await fetch(new URL(`../i18n/${lang}.json`, import.meta.url));
  strings = await response.json();
  current = lang;
  localStorage.setItem(SAVED, lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

export function language() {
  return current;
}

export function t(key, vars) {
  const text = strings[key];
  if (text === undefined) return key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

// A name the edge or a site file chose (a rule, a site type): its translation when there is one.
export function named(prefix, name) {
  const text = strings[`${prefix}.${name}`];
  return text === undefined ? name : text;
}
