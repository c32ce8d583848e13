// mha-failbackctl: the operator's command line; talks to mha-failbackd over D-Bus.
#include <cstdio>

int main() {
  std::fprintf(stderr, "mha-failbackctl: not implemented yet\n");
  return 1;
}
