// Reads a YAML file that holds one document and hands its root to a parser, turning every read
// and YAML failure into one "<file>[:<line>:<column>]: <message>" line. Shared by the config file
// and the web config file, so that both fail alike. Thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <functional>
#include <string>

namespace config {

// Reads `path` (at most `max_bytes`) and calls parse(root, error) on its document (a null node
// for an empty file). False with *error set when the file cannot be read, is not YAML, holds
// more than one document, or parse fails; no exception leaves it.
bool ParseYamlFile(const std::string& path, std::size_t max_bytes,
                   const std::function<bool(const YAML::Node& root, std::string* error)>& parse,
                   std::string* error);

}  // namespace config
