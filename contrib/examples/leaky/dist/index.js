"use strict";function greet(n){return"hello, "+n}module.exports={greet:greet};
//# sourceMappingURL=index.js.map
