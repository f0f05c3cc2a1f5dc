"""Special functions the derivatives of `math.gamma` and `math.lgamma` need:
digamma and polygamma (recurrence, asymptotic series, reflection), so that no scipy
is needed."""

import math


def _digamma(x):
    """The digamma function, the derivative of math.lgamma, at a float x (not 0 or
    a negative integer)."""
    return _polygamma(x, 0)


def _polygamma(x, n):
    """The n-th derivative of the digamma function at a float x (not a pole): the
    recurrence psi_n(x) = psi_n(x + 1) - (-1)**n n! / x**(n + 1) up to x >= 15, then
    the asymptotic series; below 0.5, the reflection formula, with the n-th
    derivative of pi cot(pi x) as a polynomial in the cotangent."""

    # B_2k / (2k)!, k = 1..9, the coefficients of the asymptotic series
    coefficients = (
        1.0 / 12,
        -1.0 / 720,
        1.0 / 30240,
        -1.0 / 1209600,
        1.0 / 47900160,
        -691.0 / 1307674368000,
        1.0 / 74724249600,
        -3617.0 / 10670622842880000,
        43867.0 / 5109094217170944000,
    )
    x = float(x)
    if x < 0.5:
        # psi_n(x) = (-1)**n psi_n(1 - x) - d^n/dx^n [pi cot(pi x)]
        cot = 1.0 / math.tan(math.pi * x)
        powers = [0.0, math.pi]  # pi * c, in powers of c = cot(pi x)
        for _ in range(n):  # d/dx c = -pi (1 + c**2)
            derivative = [0.0] * (len(powers) + 1)
            for k, a in enumerate(powers[1:], 1):
                derivative[k - 1] -= math.pi * k * a
                derivative[k + 1] -= math.pi * k * a
            powers = derivative
        reflected = sum(a * cot**k for k, a in enumerate(powers))
        return (-1) ** n * _polygamma(1.0 - x, n) - reflected
    sign = -1.0 if n % 2 else 1.0  # (-1)**n
    factorial = math.factorial(n)
    total = 0.0
    while x < 15.0:
        total -= sign * factorial / x ** (n + 1)
        x += 1.0
    if n == 0:
        series = math.log(x) - 0.5 / x
    else:
        series = -sign * (math.factorial(n - 1) / x**n + factorial / (2 * x ** (n + 1)))
    for k, b in enumerate(coefficients, 1):
        term = b * math.factorial(2 * k + n - 1) / x ** (2 * k + n)
        series += -term if n == 0 else -sign * term
    return total + series
