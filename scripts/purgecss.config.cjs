// PurgeCSS settings for static/vendor/bootstrap/bootstrap.purged.min.css: Bootstrap's CSS less the rules
// no template, script or Python module of ours can use. Run by scripts/purge_bootstrap.sh.
module.exports = {
  content: [
    "templates/**/*.html",
    "static/js/**/*.js",
    "classroom/**/*.py",  // classes set on form fields and in messages
    "courses/**/*.py",
  ],
  safelist: {
    standard: [
      // classes only Bootstrap's JavaScript sets: the collapsing menu, dropdowns, dismissible alerts, modals
      "show", "fade", "collapsing", "collapse-horizontal", "active", "modal-open", "modal-backdrop",
      "modal-static",
      // built from a variable in a template: alert-{{ tone }}, text-bg-{{ status }}
      /^alert-(primary|secondary|success|info|warning|danger|light|dark)$/,
      /^text-bg-(primary|secondary|success|info|warning|danger|light|dark)$/,
    ],
    greedy: [/data-bs-popper/],  // the attribute a dropdown's menu gets when it opens
  },
  variables: false,  // keep every custom property (the kept rules read them)
  keyframes: false,
  fontFace: false,
};
