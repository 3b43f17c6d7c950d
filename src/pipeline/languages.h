// openai-whisper's language table (tokenizer.LANGUAGES and TO_LANGUAGE_CODE), so that options
// are validated, and names like "English" accepted, before a model or tokenizer is loaded.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace wisp {

// The code for a code or a name as get_tokenizer accepts them: lower-cased, then a LANGUAGES
// code ("en"), a LANGUAGES name ("english") or a TO_LANGUAGE_CODE alias ("castilian" -> "es").
// "" when none matches.
std::string NormalizeLanguage(std::string_view code_or_name);

// Every code of LANGUAGES in token order ("en", "zh", "de", ...).
std::vector<std::string> AllLanguageCodes();

}  // namespace wisp
