// mha-failbackd: placeholder entry point until the daemon lands.
#include <cstdio>

int main() { return 0; }
