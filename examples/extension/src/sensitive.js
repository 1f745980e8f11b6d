// The built-in sensitive list: sites Attune never learns from, even when the person enables them
// (banking and payments, health, adult). A host is sensitive when one of its labels is, or
// contains, one of these words, or it is under one of these suffixes; erring on the side of
// leaving a site out.

const WORDS = [
  // banking, payments, credit
  'bank', 'banking', 'paypal', 'venmo', 'revolut', 'credit', 'loan', 'mortgage', 'invest', 'broker', 'trading',
  'insurance', 'taxes', 'irs', 'hmrc', 'finanz', 'sparkasse', 'volksbank', 'wellsfargo', 'citibank', 'hsbc', 'barclays',
  // health
  'health', 'clinic', 'hospital', 'medical', 'medicine', 'pharmacy', 'pharma', 'doctor', 'patient', 'therapy', 'mentalhealth',
  'webmd', 'mayoclinic', 'nhs', 'dental', 'hiv', 'cancer', 'diabetes', 'pregnan', 'fertility',
  // adult
  'porn', 'xxx', 'sex', 'adult', 'nsfw', 'xvideos', 'xhamster', 'onlyfans', 'escort', 'camgirl', 'hentai',
];
const SUFFIXES = ['.bank', '.insurance', '.health', '.hospital', '.clinic', '.doctor', '.xxx', '.adult', '.porn', '.sex', '.gov'];

/** Whether Attune must never collect on `hostname`. */
export function isSensitive(hostname) {
  const host = String(hostname).toLowerCase();
  if (SUFFIXES.some((s) => host.endsWith(s))) return true;
  return host.split('.').some((label) => WORDS.some((w) => label.includes(w)));
}

/** The list in words, for the popup. */
export const SENSITIVE_SUMMARY = 'banking, payment, tax and insurance sites, health sites, adult sites and government sites';
