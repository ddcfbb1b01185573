#include "creatify/kind.h"

namespace creatify {

const std::vector<KindSpec>& Kinds() {
  static const std::vector<KindSpec> kKinds = {
      {.name = "ads_clone",
       .config_key = "ads_clone",
       .path = "/api/ads_clone/",
       .list = false,
       .max_ids_per_request = 0,
       .info_fields = {"aspect_ratio", "language"}},
      {.name = "custom_template",
       .config_key = "custom_template_jobs",
       .path = "/api/custom_template_jobs/",
       .list = false,
       .max_ids_per_request = 0,
       .info_fields = {"name", "model_version"}},
      {.name = "aurora",
       .config_key = "aurora",
       .path = "/api/aurora/",
       .list = true,
       .max_ids_per_request = 100,
       .info_fields = {"name"}},
  };
  return kKinds;
}

const KindSpec* FindKind(std::string_view name) {
  for (const auto& kind : Kinds()) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

}  // namespace creatify
