/* Great-circle distance: a scalar function with the direct ABI (doubles in,
   a double out, no memory involved). */
#include "sluice_udf.h"

SLUICE_MANIFEST("{\"functions\": [{"
    "\"name\": \"haversine\","
    "\"description\": \"Distance in km between two points given in degrees\","
    "\"author\": \"Sluice examples\", \"version\": \"1.0\","
    "\"overloads\": [{\"export\": \"haversine\", \"abi\": \"direct\","
    "  \"params\": [\"lat1 DOUBLE\", \"lon1 DOUBLE\", \"lat2 DOUBLE\", \"lon2 DOUBLE\"],"
    "  \"returns\": \"DOUBLE\"}]}]}")

/* sin and cos by their Taylor series after range reduction: no libm here */
static double reduce(double x) {
    const double two_pi = 6.283185307179586;
    long k = (long)(x / two_pi);
    x -= (double)k * two_pi;
    if (x > 3.141592653589793) x -= two_pi;
    if (x < -3.141592653589793) x += two_pi;
    return x;
}

static double sin_(double x) {
    x = reduce(x);
    double x2 = x * x, term = x, sum = x;
    for (int n = 1; n < 12; n++) {
        term *= -x2 / ((2 * n) * (2 * n + 1));
        sum += term;
    }
    return sum;
}

static double cos_(double x) { return sin_(x + 1.5707963267948966); }

static double atan_(double x) {
    /* atan by halving the angle until the series converges fast */
    int halvings = 0;
    while (x > 0.2 || x < -0.2) {
        x = x / (1.0 + __builtin_sqrt(1.0 + x * x));
        halvings++;
    }
    double x2 = x * x, term = x, sum = x;
    for (int n = 1; n < 10; n++) {
        term *= -x2;
        sum += term / (2 * n + 1);
    }
    return sum * (double)(1 << halvings);
}

SLUICE_EXPORT("haversine")
double haversine(double lat1, double lon1, double lat2, double lon2) {
    const double rad = 0.017453292519943295, earth_km = 6371.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double s1 = sin_(dlat / 2), s2 = sin_(dlon / 2);
    double a = s1 * s1 + cos_(lat1 * rad) * cos_(lat2 * rad) * s2 * s2;
    /* 2 * atan2(sqrt(a), sqrt(1 - a)) */
    double c = 2 * atan_(__builtin_sqrt(a) / __builtin_sqrt(1 - a));
    return earth_km * c;
}
